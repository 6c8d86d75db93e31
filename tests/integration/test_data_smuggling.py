"""Only CRLF.CRLF ends DATA: bare CR/LF and NUL are refused (or normalised), never smuggled."""

import pytest

from smtp_client import send_raw_data
from smtp_text import split_received, wire_problems

SENDER = "sender@remote.example"
RCPT = "user@example.test"
HEADER = b"Subject: smuggling\r\n\r\n"
END = b"\r\n.\r\n"

BARE_LINE_ENDINGS = {
    "lf-dot-lf": b"a\n.\nb",
    "lf-dot-crlf": b"a\n.\r\nb",
    "cr-dot-cr": b"a\r.\rb",
    "crlf-dot-cr": b"a\r\n.\rb",
    "crlf-dot-lf": b"a\r\n.\nb",
    "cr-dot-crlf": b"a\r.\r\nb",
    "bare-lf": b"line one\nline two",
    "bare-cr": b"line one\rline two",
}
SMUGGLED = (b"a\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n"
            b"smuggled\r\n")


@pytest.fixture(scope="module")
def gw(module_start_gateway):
    return module_start_gateway()


def send_data(port: int, wire: bytes):
    return send_raw_data(port, SENDER, RCPT, wire, wait=1.0)


@pytest.mark.parametrize("payload", BARE_LINE_ENDINGS.values(), ids=BARE_LINE_ENDINGS.keys())
def test_bare_line_ending_refused(gw, module_backend, payload):
    """A bare CR or LF anywhere in DATA gets one 554 5.6.0 naming it; nothing is forwarded."""
    reply, extra = send_data(gw.port, HEADER + payload + END)
    assert (reply.code, reply.enhanced) == (554, "5.6.0"), str(reply)
    assert "bare" in reply.text.lower(), str(reply)
    assert extra == b""
    assert module_backend.commands("DATA") == [] and module_backend.transactions == []


def test_nul_refused(gw, module_backend):
    """A NUL byte in DATA gets one 554 5.6.0; nothing is forwarded."""
    reply, extra = send_data(gw.port, HEADER + b"a\x00b" + END)
    assert (reply.code, reply.enhanced) == (554, "5.6.0"), str(reply)
    assert extra == b""
    assert module_backend.commands("DATA") == [] and module_backend.transactions == []


def test_smuggled_transaction_refused(gw, module_backend):
    """A second transaction hidden after "\\n.\\n" is refused whole; the backend sees none of it."""
    reply, extra = send_data(gw.port, HEADER + SMUGGLED + END)
    assert reply.code // 100 == 5 and extra == b"", (str(reply), extra)
    assert not any("evil" in line for line in module_backend.commands())
    assert module_backend.transactions == []


def normalized_delivery(start_gateway, backend, wire: bytes) -> bytes:
    """Sends wire with bare_line_endings: normalize; returns the single delivered content."""
    gw = start_gateway(limits={"bare_line_endings": "normalize"})
    reply, extra = send_data(gw.port, wire)
    assert reply.code == 250 and extra == b"", (str(reply), extra)
    (tx,) = backend.wait_for_transactions(1)
    assert wire_problems(tx.data_raw) == []
    return split_received(tx.data)[1]


def test_normalize_turns_bare_lf_into_crlf(start_gateway, backend):
    """With normalize, "a\\nb\\r\\n" is delivered as "a\\r\\nb\\r\\n"."""
    content = normalized_delivery(start_gateway, backend, HEADER + b"a\nb\r\n.\r\n")
    assert content == HEADER + b"a\r\nb\r\n"


def test_normalize_lf_dot_lf_does_not_end_data(start_gateway, backend):
    """With normalize, "\\n.\\n" becomes a '.' line inside the message (stuffed on the wire)."""
    content = normalized_delivery(start_gateway, backend, HEADER + b"a\n.\nb\r\n.\r\n")
    assert content == HEADER + b"a\r\n.\r\nb\r\n"
    assert b"\r\n..\r\n" in backend.transactions[0].data_raw


def test_normalize_keeps_smuggled_text_in_one_message(start_gateway, backend):
    """With normalize, the smuggled commands stay body text of the one message delivered."""
    content = normalized_delivery(start_gateway, backend, HEADER + SMUGGLED + END)
    assert b"MAIL FROM:<evil@x>\r\n" in content and b"smuggled\r\n" in content
    assert not any("evil" in line for line in backend.commands("MAIL"))
    assert len(backend.transactions) == 1 and backend.connection_count == 1
