"""RFC 3030 CHUNKING towards the backend: when it offers CHUNKING (and PIPELINING), the message
goes out as BDAT chunks, as it is (no dot-stuffing), without the DATA round trip."""

import pytest

from mailgate_process import smtp_backend
from smtp_client import RawClient, open_session, send_message

SENDER = "sender@remote.example"
# send_message dot-stuffs; the backend must get these dots back as they are here.
CONTENT = (b"Subject: chunks\r\nFrom: a@remote.example\r\n\r\n.leading dot\r\n..two dots\r\n"
           b"a line\r\n.\r\nnot the end: a lone dot in the content\r\n")


def body_of(data: bytes) -> bytes:
    """The message without mailgate's Received header (its first field, folded)."""
    assert data.startswith(b"Received: ")
    lines = data.split(b"\r\n")
    index = 1
    while lines[index].startswith((b"\t", b" ")):
        index += 1
    return b"\r\n".join(lines[index:])


def test_message_goes_as_one_bdat_last(start_gateway, backend):
    backend.ehlo_extra = ["CHUNKING"]
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        reply = send_message(client, SENDER, ["user@example.test"], CONTENT)
        assert (reply.code, reply.enhanced) == (250, "2.0.0"), str(reply)
    (tx,) = backend.wait_for_transactions(1)
    assert body_of(tx.data) == CONTENT  # exactly, with no dot-stuffing on the wire
    bdats = backend.commands("BDAT")
    assert len(bdats) == 1 and bdats[0].endswith(" LAST"), bdats
    assert int(bdats[0].split()[1]) == len(tx.data)
    assert backend.commands("DATA") == []


def test_big_message_goes_in_several_chunks(start_gateway, backend):
    backend.ehlo_extra = ["CHUNKING"]
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    content = b"Subject: big\r\n\r\n" + b"".join(
        b"%06d " % number + b"x" * 90 + b"\r\n" for number in range(8000))  # about 780 KB
    with RawClient(gw.port, timeout=20) as client:
        open_session(client)
        assert send_message(client, SENDER, ["user@example.test"], content).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=20)
    assert body_of(tx.data) == content
    bdats = backend.commands("BDAT")
    assert len(bdats) >= 3, bdats
    assert all(not b.endswith("LAST") for b in bdats[:-1]) and bdats[-1].endswith(" LAST")
    assert sum(int(b.split()[1]) for b in bdats) == len(tx.data)


def test_backend_refusal_reaches_the_client(start_gateway, backend):
    backend.ehlo_extra = ["CHUNKING"]
    backend.data_reply = "554 5.7.1 Refused after the last chunk"
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        reply = send_message(client, SENDER, ["user@example.test"], CONTENT)
        assert (reply.code, reply.enhanced) == (554, "5.7.1"), str(reply)
        # The session and the backend connection go on.
        backend.data_reply = "250 2.0.0 Ok: queued as ID{n}"
        assert send_message(client, SENDER, ["user@example.test"], CONTENT).code == 250


@pytest.mark.parametrize("refusal,code", [("452 4.3.1 Insufficient system storage", 452),
                                          ("552 5.3.4 Message too big", 552)])
def test_refused_chunk_is_the_answer(start_gateway, backend, refusal, code):
    """A chunk refused before LAST fails the message: the client gets that refusal, not the
    error the backend gives to LAST afterwards."""
    backend.ehlo_extra = ["CHUNKING"]
    backend.bdat_chunk_reply = refusal
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    content = b"Subject: big\r\n\r\n" + b"".join(b"z" * 98 + b"\r\n" for _ in range(6000))
    with RawClient(gw.port, timeout=20) as client:
        open_session(client)
        reply = send_message(client, SENDER, ["user@example.test"], content)
        assert reply.code == code, str(reply)
        backend.bdat_chunk_reply = ""
        assert send_message(client, SENDER, ["user@example.test"], CONTENT).code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert body_of(tx.data) == CONTENT


def test_without_chunking_data_is_used(start_gateway, backend):
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert send_message(client, SENDER, ["user@example.test"], CONTENT).code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert body_of(tx.data) == CONTENT
    assert backend.commands("BDAT") == [] and len(backend.commands("DATA")) == 1
