"""After a burst of sessions has ended, mailgate gives the heap they freed back to the system
(malloc_trim, checked every 5 s) and logs the resident size before and after."""

import re

from smtp_client import RawClient

BURST = 400  # above MemoryTrim::kMinimumPeak (256), below a default limit of 1024 descriptors
TRIM_LOG = re.compile(r"returned freed memory to the system after a peak of (\d+) sessions: "
                      r"resident ([\d.]+) MB -> ([\d.]+) MB")


def test_memory_is_returned_after_a_burst(start_gateway):
    gw = start_gateway(limits={"max_connections_per_ip": 1000})
    clients = []
    try:
        for _ in range(BURST):
            client = RawClient(gw.port)
            clients.append(client)
            assert client.greeting().code == 220
        for client in clients:  # each session reads a command and holds its buffers
            client.send(b"EHLO client.test\r\n")
        for client in clients:
            assert client.read_reply().code == 250
        assert TRIM_LOG.search(gw.log_text()) is None  # not while the sessions are open
    finally:
        for client in clients:
            client.close()
    assert gw.wait_for_log("returned freed memory to the system", timeout=15), gw.log_text()[-2000:]
    found = TRIM_LOG.search(gw.log_text())
    assert found, gw.log_text()[-2000:]
    peak, before, after = int(found.group(1)), float(found.group(2)), float(found.group(3))
    assert peak == BURST
    assert 0 < after <= before + 1.0  # other threads may allocate between the two readings
