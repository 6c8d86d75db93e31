"""Over-long text lines and over-size messages are refused after the final dot, not forwarded."""

import pytest

from smtp_client import send_raw_data

SENDER = "sender@remote.example"
RCPT = "user@example.test"


@pytest.fixture(scope="module")
def gw(module_start_gateway):
    return module_start_gateway(limits={"max_message_size": "10KiB"})


def send_data(port: int, wire: bytes):
    return send_raw_data(port, SENDER, RCPT, wire, wait=0.5)


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
