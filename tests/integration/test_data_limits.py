"""Over-long text lines and over-size messages are refused after the final dot, not forwarded."""

import pytest

from smtp_client import RawClient, open_session

SENDER = "sender@remote.example"
RCPT = "user@example.test"


@pytest.fixture(scope="module")
def gw(module_start_gateway):
    return module_start_gateway(limits={"max_message_size": "10KiB"})


def send_data(port: int, wire: bytes):
    """Opens a transaction, sends wire after the 354; returns the reply and anything after it."""
    with RawClient(port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command(f"RCPT TO:<{RCPT}>").code == 250
        assert client.command("DATA").code == 354
        client.send(wire)
        reply = client.read_reply()
        return reply, client.pending(0.5)


def test_text_line_too_long(gw, module_backend):
    """A 1001-octet line (with CRLF) gets one 554 5.6.0 after the dot; nothing is forwarded."""
    wire = b"Subject: long\r\n\r\n" + b"x" * 999 + b"\r\n.\r\n"
    reply, extra = send_data(gw.port, wire)
    assert (reply.code, reply.enhanced) == (554, "5.6.0"), str(reply)
    assert extra == b""
    assert module_backend.commands("DATA") == [] and module_backend.transactions == []


def test_message_too_big(gw, module_backend):
    """A 20 KB message over max_message_size (10KiB) gets 552 5.3.4; nothing is forwarded."""
    wire = b"Subject: big\r\n\r\n" + (b"y" * 98 + b"\r\n") * 200 + b".\r\n"
    reply, extra = send_data(gw.port, wire)
    assert (reply.code, reply.enhanced) == (552, "5.3.4"), str(reply)
    assert extra == b""
    assert module_backend.commands("DATA") == [] and module_backend.transactions == []
