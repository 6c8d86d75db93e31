"""Abuse limits through the real binary: the per-address connection rate
(limits.max_connection_rate_per_ip), a flood of bad commands against limits.max_errors, a
client that sends but never reads its replies, and one that reads them late."""

import socket
import threading
import time

from smtp_client import ConnectionClosed, RawClient, open_session


def greeting_code(port: int, source: str = None) -> int:
    with RawClient(port, source=source) as client:
        reply = client.greeting()
        if reply.code == 421:
            assert reply.enhanced == "4.7.0", str(reply)
            assert "rate limit" in reply.text, str(reply)
            assert client.wait_closed(2.0)
        return reply.code


def test_connection_rate_per_ip(start_gateway):
    """3 connections a minute per address: the 4th from 127.0.0.1 gets 421 4.7.0 and is closed,
    while 127.0.0.2 has its own budget; closing connections does not give the budget back."""
    gw = start_gateway(limits={"max_connection_rate_per_ip": 3, "connection_rate_window": "1m"})
    codes = [greeting_code(gw.port) for _ in range(4)]
    assert codes == [220, 220, 220, 421]
    assert greeting_code(gw.port, source="127.0.0.2") == 220
    assert greeting_code(gw.port) == 421
    assert gw.wait_for_log("connection rate limit exceeded by 127.0.0.1, refused")


def test_connection_rate_refills(start_gateway):
    """1 connection per 2s: the second at once is refused, one after the window is served."""
    gw = start_gateway(limits={"max_connection_rate_per_ip": 1, "connection_rate_window": "2s"})
    assert greeting_code(gw.port) == 220
    assert greeting_code(gw.port) == 421
    time.sleep(2.2)
    assert greeting_code(gw.port) == 220


def test_no_rate_limit_by_default(start_gateway):
    """The default (0) keeps no rate limit: 60 quick connections from one address all get in."""
    gw = start_gateway()
    assert {greeting_code(gw.port) for _ in range(60)} == {220}


def test_flood_of_bad_commands_is_cut_at_max_errors(start_gateway):
    """200 junk lines in one write: exactly max_errors (5) replies, the last followed by
    421 4.7.0, then the connection closes; the rest of the flood is never answered."""
    gw = start_gateway(limits={"max_errors": 5})
    junk = [b"BOGUS\r\n", b"NO\x00OP\r\n", b"MAIL FROM:<x\r\n", b"RCPT TO:<a@b>\r\n", b"\xff\r\n"]
    with RawClient(gw.port) as client:
        open_session(client)
        try:
            client.send(b"".join(junk[n % len(junk)] for n in range(200)))
        except OSError:
            pass  # the server may close before it has read everything
        replies = []
        for _ in range(10):
            try:
                replies.append(client.read_reply())
            except ConnectionClosed:
                break
        assert client.wait_closed(3.0)
    codes = [reply.code for reply in replies]
    assert codes[:5] == [500, 500, 501, 503, 500], codes
    assert [(r.code, r.enhanced) for r in replies[5:]] == [(421, "4.7.0")], codes


def test_client_that_never_reads_is_closed(start_gateway):
    """A client pipelining commands without reading a single reply fills the socket buffers;
    mailgate's writes are bounded by command_timeout (2s), so the connection is closed instead
    of held open."""
    gw = start_gateway(limits={"command_timeout": "2s"})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.settimeout(5)
    sock.connect(("127.0.0.1", gw.port))
    try:
        sock.settimeout(0.5)
        flood = b"HELP\r\n" * 2000
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 15:
            try:
                sock.send(flood)
            except (BlockingIOError, socket.timeout):
                time.sleep(0.1)  # our send buffer is full too: mailgate stopped reading
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
        assert closed, "the connection was still open after 15 s"
        assert time.monotonic() - started < 12
    finally:
        sock.close()
    # The gateway still serves everyone else.
    with RawClient(gw.port) as client:
        open_session(client)


def test_replies_to_a_slow_reader_arrive_whole(start_gateway):
    """A client that pipelines many commands and reads late: the kernel takes only part of the
    replies at first, and the rest goes out once the client reads. Every reply arrives once,
    whole and in order."""
    gw = start_gateway()
    count = 40000
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.settimeout(10)
    sock.connect(("127.0.0.1", gw.port))
    try:
        received = b""
        while b"\r\n" not in received:  # the greeting first: no early talking
            received += sock.recv(4096)
        sock.sendall(b"EHLO client.example\r\n")
        sender = threading.Thread(target=sock.sendall, args=(b"NOOP\r\n" * count + b"QUIT\r\n",),
                                  daemon=True)
        sender.start()
        time.sleep(1.0)  # nobody reads: mailgate's replies fill the buffers and wait
        deadline = time.monotonic() + 30
        while not received.endswith(b"Bye\r\n") and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        sender.join(timeout=10)
    finally:
        sock.close()
    lines = received.split(b"\r\n")
    assert lines[0].startswith(b"220 "), lines[0]
    ehlo_end = next(i for i, line in enumerate(lines) if line.startswith(b"250 "))
    noops = lines[ehlo_end + 1:ehlo_end + 1 + count]
    assert noops == [b"250 2.0.0 Ok"] * count
    assert lines[ehlo_end + 1 + count].startswith(b"221 2.0.0 "), lines[ehlo_end + 1 + count]
    assert lines[ehlo_end + 2 + count:] == [b""]
