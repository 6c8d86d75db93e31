"""limits.max_connections and limits.max_connections_per_ip: connections beyond them get
421 4.7.0 and are closed; a slot is free again when a session ends."""

import time

from smtp_client import RawClient


def greeting_of(port: int, source: str = None):
    client = RawClient(port, source=source)
    return client, client.greeting()


def test_per_ip_limit(start_gateway):
    """Two sessions from 127.0.0.1 fill a limit of 2; a third gets 421; 127.0.0.2 still gets in."""
    gw = start_gateway(limits={"max_connections_per_ip": 2})
    first, reply1 = greeting_of(gw.port)
    second, reply2 = greeting_of(gw.port)
    assert (reply1.code, reply2.code) == (220, 220)
    third, reply3 = greeting_of(gw.port)
    assert (reply3.code, reply3.enhanced) == (421, "4.7.0"), str(reply3)
    assert "from your address" in reply3.text
    assert third.wait_closed()
    other, reply4 = greeting_of(gw.port, source="127.0.0.2")
    assert reply4.code == 220, str(reply4)
    first.command("QUIT")
    first.close()
    deadline = time.monotonic() + 5
    while True:  # the slot is released when the session has ended
        again, reply5 = greeting_of(gw.port)
        if reply5.code == 220 or time.monotonic() > deadline:
            break
        again.close()
        time.sleep(0.05)
    assert reply5.code == 220, str(reply5)
    for client in (second, third, other, again):
        client.close()


def test_total_limit(start_gateway):
    """With max_connections 2, the third connection from any address gets 421 4.7.0."""
    gw = start_gateway(limits={"max_connections": 2})
    first, _ = greeting_of(gw.port)
    second, _ = greeting_of(gw.port, source="127.0.0.2")
    third, reply = greeting_of(gw.port, source="127.0.0.3")
    assert (reply.code, reply.enhanced) == (421, "4.7.0"), str(reply)
    for client in (first, second, third):
        client.close()
