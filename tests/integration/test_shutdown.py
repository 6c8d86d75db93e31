"""SIGTERM: stop accepting, let transactions in flight finish, tell idle clients, exit 0."""

import signal
import socket
import time

from smtp_client import ConnectionClosed, RawClient, ReplyTimeout, open_session
from smtp_text import split_received

SENDER = "sender@remote.example"
RCPT = "user@example.test"
BODY = b"Subject: in flight\r\n\r\nfinished after SIGTERM\r\n"
SHUTDOWN_TIMEOUT = 10.0


def start(start_gateway):
    return start_gateway(limits={"shutdown_timeout": f"{int(SHUTDOWN_TIMEOUT)}s"})


def open_transaction(client: RawClient) -> None:
    open_session(client)
    assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
    assert client.command(f"RCPT TO:<{RCPT}>").code == 250


def new_connection_refused(port: int, timeout: float = 3.0) -> bool:
    """True once a new connection is refused, or closed/answered 421 without a 220 (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with RawClient(port, timeout=1.0) as client:
                reply = client.greeting()
        except (ConnectionRefusedError, ConnectionClosed, ConnectionResetError):
            return True
        except (ReplyTimeout, socket.timeout):
            reply = None  # accepted by the kernel backlog but never served: try again
        if reply is not None and reply.code == 421:
            return True
        time.sleep(0.1)
    return False


def test_transaction_in_flight_finishes(start_gateway, backend):
    """A transaction open at SIGTERM still gets its 250 and is delivered; then exit 0."""
    gw = start(start_gateway)
    with RawClient(gw.port) as client:
        open_transaction(client)
        gw.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        sent = time.monotonic()
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        reply = client.read_reply()
        assert reply.code == 250, str(reply)
    assert gw.wait_exit(SHUTDOWN_TIMEOUT + 5) == 0, gw.log_text()
    assert time.monotonic() - sent < SHUTDOWN_TIMEOUT + 2
    (tx,) = backend.wait_for_transactions(1)
    assert split_received(tx.data)[1] == BODY


def test_new_connections_refused_while_draining(start_gateway):
    """After SIGTERM no new session is served (refused, closed or 421) while one drains."""
    gw = start(start_gateway)
    with RawClient(gw.port) as client:
        open_transaction(client)
        gw.send_signal(signal.SIGTERM)
        assert new_connection_refused(gw.port)
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        assert client.read_reply().code == 250
    assert gw.wait_exit(SHUTDOWN_TIMEOUT + 5) == 0, gw.log_text()


def test_idle_client_told_421(start_gateway):
    """An idle client gets 421 4.3.2 on SIGTERM and is disconnected; mailgate exits 0."""
    gw = start(start_gateway)
    with RawClient(gw.port) as client:
        open_session(client)
        gw.send_signal(signal.SIGTERM)
        reply = client.read_reply(timeout=SHUTDOWN_TIMEOUT)
        assert (reply.code, reply.enhanced) == (421, "4.3.2"), str(reply)
        assert client.wait_closed(5)
    assert gw.wait_exit(SHUTDOWN_TIMEOUT + 5) == 0, gw.log_text()
