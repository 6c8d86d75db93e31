"""spam_score with external scanners: the real spamd (SpamAssassin) and Rspamd from Debian,
started once per module on loopback, asked by the real mailgate binary. GTUBE is refused, a
clean message passes with the scanner's score and symbols in X-Spam-*, and a scanner that is
down, silent or skipped (max_size) leads to its on_failure policy."""

import re
import socket
import threading
import time

import pytest

from daemon_process import run_instance
from mailgate_process import free_port, gateway_config, relay_access_entry, run_mailgate, \
    write_config
from rspamd_instance import RspamdInstance, rspamd_binary
from smtp_client import RawClient, open_session, send_message
from spamd_instance import SpamdInstance, spamd_binary
from test_spam_score import RCPT, SENDER, delivered
from test_spam_score import deliver as deliver_one

GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_MESSAGE = (b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <gtube@remote.example>\r\n"
                 b"From: sender@remote.example\r\nTo: user@example.test\r\n"
                 b"Subject: test\r\n\r\n" + GTUBE + b"\r\n")
CLEAN = (b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <clean-1@remote.example>\r\n"
         b"From: Sender <sender@remote.example>\r\nTo: User <user@example.test>\r\n"
         b"Subject: lunch on friday\r\n\r\nShall we meet at noon? The usual place.\r\n")


def started(instance_class, binary):
    found, why = binary()
    if found is None:
        pytest.skip(why)
    yield from run_instance(instance_class.create())


@pytest.fixture(scope="module")
def spamd():
    yield from started(SpamdInstance, spamd_binary)


@pytest.fixture(scope="module")
def rspamd():
    yield from started(RspamdInstance, rspamd_binary)


class SilentServer:
    """Accepts connections on loopback and never answers: a scanner that hangs."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                pass

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def spam_entry(build, scanners, **config):
    return {"name": "spam_score", "path": str(build.plugin("spam_score")),
            "config": {"scanners": scanners, **config}}


def start(start_gateway, build, scanners, **config):
    return start_gateway(plugins=[relay_access_entry(build), spam_entry(build, scanners, **config)])


def deliver(gw, content):
    return deliver_one(gw, content, timeout=15)  # a scan may take a while


def spam_headers(data: bytes) -> dict:
    """X-Spam-* fields of the delivered message, unfolded."""
    header = data.split(b"\r\n\r\n", 1)[0].decode()
    fields = {}
    for match in re.finditer(r"^(X-Spam-[A-Za-z]+): ([^\r\n]*(?:\r\n\t[^\r\n]*)*)", header, re.M):
        fields[match.group(1)] = match.group(2).replace("\r\n\t", "")
    return fields


def listed_symbols(status: str) -> list:
    return status.split("tests=", 1)[1].split(",")


# --- spamd --------------------------------------------------------------------------------

def test_spamd_gtube_is_rejected(start_gateway, build, backend, spamd):
    """SpamAssassin scores GTUBE 1000 and more: over actions.reject the message is refused."""
    gw = start(start_gateway, build, [{"type": "spamd", "address": spamd.address}],
               actions={"reject": 15})
    reply = deliver(gw, GTUBE_MESSAGE)
    assert (reply.code, reply.enhanced) == (550, "5.7.1"), str(reply)
    assert backend.transactions == []
    assert re.search(r"score=\d{3,4}\.\d\d action=reject SPAMD=\d{3,4}\.\d\d", gw.log_text()), \
        gw.log_text()
    assert "checking message <gtube@remote.example>" in spamd.log_text()


def test_spamd_clean_message_passes_with_symbols(start_gateway, build, backend, spamd):
    """A clean message is delivered; SpamAssassin's score is X-Spam-Score and its rules are
    listed prefixed with SA: after the SPAMD symbol that carries the score."""
    gw = start(start_gateway, build, [{"type": "spamd", "address": spamd.address}],
               actions={"reject": 15})
    assert deliver(gw, CLEAN).code == 250
    headers = spam_headers(delivered(backend))
    score = float(headers["X-Spam-Score"])
    assert score < 5, headers
    assert headers["X-Spam-Status"].startswith(f"No, score={score:.2f} required=5.00 "), headers
    tests = listed_symbols(headers["X-Spam-Status"])
    assert tests[0] == "SPAMD" and len(tests) > 1, headers
    assert all(name.startswith("SA:") for name in tests[1:]), headers
    assert f"SPAMD={score:.2f}" in gw.log_text()
    # Our Received field told SpamAssassin the client (127.0.0.1: trusted) and that it came
    # over one relay, as in the backend's copy.
    assert "SA:ALL_TRUSTED" in tests and "SA:NO_RELAYS" not in tests, headers
    assert "checking message <clean-1@remote.example>" in spamd.log_text()


def test_spamd_weight_and_two_scanners(start_gateway, build, backend, spamd):
    """Two scanners on one daemon: each weighted score is its own symbol; both count."""
    gw = start(start_gateway, build, [
        {"type": "spamd", "address": spamd.address},
        {"type": "spamd", "address": spamd.address, "name": "SPAMD_HALF",
         "symbol_prefix": "SA2:", "weight": "0.5"}])
    assert deliver(gw, GTUBE_MESSAGE).code == 250
    headers = spam_headers(delivered(backend))
    match = re.search(r"SPAMD=(\d+\.\d\d) SPAMD_HALF=(\d+\.\d\d)", gw.log_text())
    assert match, gw.log_text()
    full, half = float(match.group(1)), float(match.group(2))
    assert full >= 990 and abs(half - full / 2) < 0.01
    assert abs(float(headers["X-Spam-Score"]) - (full + half)) < 0.02, headers
    tests = listed_symbols(headers["X-Spam-Status"])
    assert "SA:GTUBE" in tests and "SA2:GTUBE" in tests and headers["X-Spam-Flag"] == "YES"


def test_spamd_spilled_message_is_streamed(start_gateway, build, backend, spamd):
    """A message larger than the spill threshold (1 MB) is sent whole from the spill file."""
    filler = b"".join(b"line %06d of a long and boring newsletter text\r\n" % i
                      for i in range(30000))
    message = GTUBE_MESSAGE + filler  # GTUBE first: SpamAssassin reads only the body's start
    assert len(message) > 1024 * 1024
    gw = start(start_gateway, build, [{"type": "spamd", "address": spamd.address,
                                       "max_size": "4MB"}], actions={"reject": 15})
    reply = deliver(gw, message)
    assert reply.code == 550, str(reply)
    sizes = [int(size) for size in re.findall(r"identified spam \(.*\) for .* (\d+) bytes",
                                              spamd.log_text())]
    assert sizes and max(sizes) > len(message), spamd.log_text()[-2000:]


def test_oversized_message_is_not_scanned(start_gateway, build, backend, spamd):
    """Over max_size the scanner is skipped (logged): local score only, GTUBE goes through."""
    gw = start(start_gateway, build, [{"type": "spamd", "address": spamd.address,
                                       "max_size": "1KB"}], actions={"reject": 15})
    message = GTUBE_MESSAGE + b"padding to be over one kilobyte\r\n" * 40
    assert deliver(gw, message).code == 250
    headers = spam_headers(delivered(backend))
    assert headers["X-Spam-Status"].endswith("tests=none"), headers
    assert re.search(r"SPAMD skipped: the message \(\d+ octets\) is larger than max_size \(1024\)",
                     gw.log_text()), gw.log_text()
    assert "action=tag SPAMD=skipped" in gw.log_text()


# --- Rspamd -------------------------------------------------------------------------------

def test_rspamd_gtube_is_rejected_by_its_action(start_gateway, build, backend, rspamd):
    """Rspamd answers GTUBE with action "reject": followed, even without actions.reject."""
    gw = start(start_gateway, build, [{"type": "rspamd", "address": rspamd.address}])
    reply = deliver(gw, GTUBE_MESSAGE)
    assert (reply.code, reply.enhanced) == (550, "5.7.1"), str(reply)
    assert "Message refused as spam" in reply.text
    assert backend.transactions == []
    assert "action=reject RSPAMD=15.00" in gw.log_text(), gw.log_text()


def test_rspamd_action_not_followed(start_gateway, build, backend, rspamd):
    """With follow_action: false only the score counts (15 is below the reject threshold)."""
    gw = start(start_gateway, build, [{"type": "rspamd", "address": rspamd.address,
                                       "follow_action": False}], actions={"reject": 20})
    assert deliver(gw, GTUBE_MESSAGE).code == 250
    headers = spam_headers(delivered(backend))
    assert headers["X-Spam-Score"] == "15.00", headers
    assert listed_symbols(headers["X-Spam-Status"]) == ["RSPAMD", "RS:GTUBE"], headers


def test_rspamd_clean_message_with_envelope(start_gateway, build, backend, rspamd):
    """A clean message passes with Rspamd's score and symbols; Rspamd saw the SMTP envelope
    (client IP, sender, recipient, queue id) from the request headers."""
    gw = start(start_gateway, build, [{"type": "rspamd", "address": rspamd.address}],
               actions={"reject": 15})
    assert deliver(gw, CLEAN).code == 250
    headers = spam_headers(delivered(backend))
    score = float(headers["X-Spam-Score"])
    tests = listed_symbols(headers["X-Spam-Status"])
    assert tests[0] == "RSPAMD" and len(tests) > 1, headers
    assert all(name.startswith("RS:") for name in tests[1:]), headers
    assert f"RSPAMD={score:.2f}" in gw.log_text()
    deadline = time.monotonic() + 5
    line = ""
    while time.monotonic() < deadline and not line:
        line = next((entry for entry in rspamd.log_text().splitlines()
                     if "rspamd_task_write_log" in entry and "clean-1@remote.example" in entry),
                    "")
        time.sleep(0.1)
    assert "ip: 127.0.0.1" in line and "from: <sender@remote.example>" in line, line
    assert "rcpts: <user@example.test>" in line and "qid: <" in line, line


# --- failures -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["spamd", "rspamd"])
@pytest.mark.parametrize("policy", ["ignore", "tempfail"])
def test_scanner_down(start_gateway, build, backend, kind, policy):
    """Nothing listens on the scanner's port: ignore delivers with NAME_FAIL, tempfail 451."""
    address = f"127.0.0.1:{free_port()}"
    gw = start(start_gateway, build, [{"type": kind, "address": address, "on_failure": policy}])
    reply = deliver(gw, CLEAN)
    name = kind.upper()
    assert re.search(rf"{name} \({kind} at {address}\) failed: connect to {address}: "
                     rf"Connection refused; on_failure={policy}", gw.log_text()), gw.log_text()
    if policy == "tempfail":
        assert (reply.code, reply.enhanced) == (451, "4.3.0"), str(reply)
        assert "Content scanner unavailable" in reply.text
        assert backend.transactions == []
        return
    assert reply.code == 250, str(reply)
    headers = spam_headers(delivered(backend))
    assert headers["X-Spam-Status"] == f"No, score=0.00 required=5.00 tests={name}_FAIL", headers


@pytest.mark.parametrize("kind", ["spamd", "rspamd"])
@pytest.mark.parametrize("policy", ["ignore", "tempfail"])
def test_scanner_timeout(start_gateway, build, backend, silent_server, kind, policy):
    """A scanner that accepts and never answers: the policy applies after its timeout (1s)."""
    silent = f"127.0.0.1:{silent_server.port}"
    gw = start(start_gateway, build, [{"type": kind, "address": silent, "timeout": "1s",
                                       "on_failure": policy}])
    with RawClient(gw.port, timeout=15) as client:
        open_session(client)
        begin = time.monotonic()
        reply = send_message(client, SENDER, [RCPT], CLEAN)
        took = time.monotonic() - begin
    assert 0.9 <= took < 8, took  # the 1s timeout, not the plugin's 30s hook timeout
    assert "timed out waiting for the reply (timeout 1000ms)" in gw.log_text(), gw.log_text()
    if policy == "tempfail":
        assert (reply.code, reply.enhanced) == (451, "4.3.0"), str(reply)
        assert backend.transactions == []
    else:
        assert reply.code == 250, str(reply)
        assert f"tests={kind.upper()}_FAIL" in spam_headers(delivered(backend))["X-Spam-Status"]


def test_scans_do_not_hold_io_threads(start_gateway, build, backend, silent_server):
    """While scans wait on a silent scanner, other sessions are served at once: the waiting
    happens on the plugin's own threads, not on mailgate's I/O threads (2 here)."""
    silent = f"127.0.0.1:{silent_server.port}"
    gw = start(start_gateway, build, [{"type": "spamd", "address": silent, "timeout": "3s"}])
    replies = []
    senders = [threading.Thread(target=lambda: replies.append(deliver(gw, CLEAN)))
               for _ in range(3)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 10
    while len(silent_server.held) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(silent_server.held) == 3  # three scans are waiting now
    for _ in range(4):
        begin = time.monotonic()
        with RawClient(gw.port, timeout=5) as client:
            open_session(client)
            assert client.command("NOOP").code == 250
        assert time.monotonic() - begin < 1.5
    for sender in senders:
        sender.join(15)
    assert [reply.code for reply in replies] == [250, 250, 250]


def test_concurrent_scans_are_bounded(start_gateway, build, backend, silent_server):
    """With max_concurrent_scans: 1 and one scan waiting, the next message is not scanned: its
    on_failure applies at once (here tempfail), with the reason logged."""
    silent = f"127.0.0.1:{silent_server.port}"
    gw = start(start_gateway, build, [{"type": "spamd", "address": silent, "timeout": "3s",
                                       "on_failure": "tempfail"}], max_concurrent_scans=1)
    first = []
    sender = threading.Thread(target=lambda: first.append(deliver(gw, CLEAN)))
    sender.start()
    deadline = time.monotonic() + 10
    while not silent_server.held and time.monotonic() < deadline:
        time.sleep(0.02)
    assert silent_server.held
    begin = time.monotonic()
    reply = deliver(gw, CLEAN)
    assert time.monotonic() - begin < 1.5
    assert (reply.code, reply.enhanced) == (451, "4.3.0"), str(reply)
    assert "not asked: already scanning max_concurrent_scans (1) messages" in gw.log_text(), \
        gw.log_text()
    sender.join(15)
    assert first[0].code == 451  # the first one timed out: tempfail too
    assert "timed out waiting for the reply (timeout 3000ms)" in gw.log_text()


# --- config -------------------------------------------------------------------------------

def test_scanner_config_errors_are_located(build, mailgate_binary, tmp_path):
    config = gateway_config(build, free_port(), plugins=[relay_access_entry(build), spam_entry(
        build, [{"type": "clamd", "address": "127.0.0.1:783"},
                {"type": "spamd", "address": "127.0.0.1:783", "timeout": "forever"}])])
    config_path = write_config(tmp_path / "mailgate.yaml", config)
    result = run_mailgate(build, ["--config", str(config_path)], timeout=10)
    assert result.returncode == 1, result.stderr
    lines = config_path.read_text().splitlines()
    type_line = next(i for i, line in enumerate(lines, 1) if '"clamd"' in line)
    timeout_line = next(i for i, line in enumerate(lines, 1) if '"forever"' in line)
    path = re.escape(str(config_path))
    assert re.search(rf"{path}:{type_line}:\d+: .*scanners\[0\]\.type.*must be spamd or rspamd",
                     result.stderr), result.stderr
    assert re.search(rf"{path}:{timeout_line}:\d+: .*scanners\[1\]\.timeout.*must be a duration",
                     result.stderr), result.stderr


def test_long_timeouts_are_warned_about(start_gateway, build, spamd):
    """Scanner timeouts adding up to the host's default hook timeout (30s) get a warning."""
    gw = start(start_gateway, build, [
        {"type": "spamd", "address": spamd.address, "timeout": "20s"},
        {"type": "spamd", "address": spamd.address, "timeout": "10s", "name": "SPAMD2"}])
    assert "spam_score: the scanners' timeouts add up to 30000ms: set the plugin entry's " \
        "timeout above that (default 30s)" in gw.log_text(), gw.log_text()
