"""backend.type: lmtp. LHLO, and one reply per recipient after the final dot, mapped to the one
reply the SMTP client gets (lmtp_multi_recipient: split or merge)."""

from contextlib import contextmanager

import pytest

from mailgate_process import HOSTNAME
from recording_backend import RecordingBackend
from smtp_client import RawClient, open_session
from smtp_text import split_received

SENDER = "sender@remote.example"
BODY = b"Subject: lmtp\r\n\r\nhello\r\n"
A, B, C = "a@example.test", "b@example.test", "c@example.test"


@contextmanager
def lmtp_server(unix_path=None):
    server = RecordingBackend(lmtp=True).start(unix_path=unix_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lmtp():
    with lmtp_server() as server:
        yield server


def lmtp_backend(server, **more):
    servers = [f"unix:{server.unix_path}"] if server.unix_path else [f"127.0.0.1:{server.port}"]
    return {"type": "lmtp", "servers": servers, "connect_timeout": "2s",
            "command_timeout": "5s", **more}


def transaction(port: int, rcpts: list[str]):
    """MAIL, each RCPT, DATA and the message; returns (RCPT replies, final reply)."""
    with RawClient(port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        rcpt_replies = [client.command(f"RCPT TO:<{rcpt}>") for rcpt in rcpts]
        if not any(r.code == 250 for r in rcpt_replies):
            return rcpt_replies, None
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        return rcpt_replies, client.read_reply()


def test_lhlo_and_single_recipient(start_gateway, lmtp):
    lmtp.lmtp_replies = {A: "250 2.0.0 <a@example.test> Saved"}
    gw = start_gateway(backend=lmtp_backend(lmtp))
    _, final = transaction(gw.port, [A])
    assert (final.code, final.text) == (250, "2.0.0 <a@example.test> Saved")
    (tx,) = lmtp.wait_for_transactions(1)
    assert tx.rcpts == [A]
    assert split_received(tx.data)[1] == BODY
    assert lmtp.sessions[0].commands[0] == f"LHLO {HOSTNAME}"
    assert lmtp.commands("EHLO") == [] and lmtp.commands("HELO") == []


@pytest.mark.parametrize("reply", ["452 4.2.2 Mailbox full", "550 5.2.1 Mailbox disabled"])
def test_single_recipient_refusal_is_exact(start_gateway, lmtp, reply):
    """With one recipient the client gets that recipient's own reply after the final dot."""
    lmtp.lmtp_replies = {A: reply}
    gw = start_gateway(backend=lmtp_backend(lmtp))
    _, final = transaction(gw.port, [A])
    assert str(final) == reply


def test_split_gives_452_to_second_recipient(start_gateway, lmtp):
    """lmtp_multi_recipient: split (the default): one recipient per transaction; the client
    sends the others in their own transactions, and each gets its exact reply."""
    lmtp.lmtp_replies = {B: "452 4.2.2 Mailbox full"}
    gw = start_gateway(backend=lmtp_backend(lmtp))
    rcpts, final = transaction(gw.port, [A, B, C])
    assert [r.code for r in rcpts] == [250, 452, 452]
    assert rcpts[1].enhanced == "4.5.3" and "separate transaction" in rcpts[1].text
    assert final.code == 250
    assert lmtp.rcpt_addresses() == [A]  # the others never reached the backend
    _, final_b = transaction(gw.port, [B])
    assert str(final_b) == "452 4.2.2 Mailbox full"


def test_merge_all_delivered(start_gateway, lmtp):
    gw = start_gateway(backend=lmtp_backend(lmtp, lmtp_multi_recipient="merge"))
    rcpts, final = transaction(gw.port, [A, B, C])
    assert [r.code for r in rcpts] == [250, 250, 250]
    assert final.code == 250
    (tx,) = lmtp.wait_for_transactions(1)
    assert tx.rcpts == [A, B, C] and len(tx.reply.split("\n")) == 3


def test_merge_mixed_is_250_and_logged(start_gateway, lmtp):
    """Mixed results: 250 for the message; every recipient that did not get it is logged."""
    lmtp.lmtp_replies = {B: "452 4.2.2 Mailbox full", C: "550 5.1.1 No such user"}
    gw = start_gateway(backend=lmtp_backend(lmtp, lmtp_multi_recipient="merge"))
    _, final = transaction(gw.port, [A, B, C])
    assert (final.code, final.enhanced) == (250, "2.0.0"), str(final)
    assert "delivered to 1 of 3 recipients" in final.text
    log = gw.log_text()
    assert f"rcpt=<{B}> not delivered: \"452 4.2.2 Mailbox full\"" in log
    assert f"rcpt=<{C}> not delivered: \"550 5.1.1 No such user\"" in log
    assert f"rcpt=<{A}> not delivered" not in log


def test_merge_none_delivered_prefers_transient(start_gateway, lmtp):
    """No recipient delivered: the first 4xx, so the client retries the whole message."""
    lmtp.lmtp_replies = {A: "550 5.1.1 No such user", B: "451 4.3.0 Try later",
                         C: "452 4.2.2 Mailbox full"}
    gw = start_gateway(backend=lmtp_backend(lmtp, lmtp_multi_recipient="merge"))
    _, final = transaction(gw.port, [A, B, C])
    assert str(final) == "451 4.3.0 Try later"


def test_merge_none_delivered_all_permanent(start_gateway, lmtp):
    lmtp.lmtp_replies = {A: "550 5.1.1 No such user", B: "552 5.2.2 Over quota"}
    gw = start_gateway(backend=lmtp_backend(lmtp, lmtp_multi_recipient="merge"))
    _, final = transaction(gw.port, [A, B])
    assert str(final) == "550 5.1.1 No such user"


def test_rcpt_refusal_at_rcpt_time(start_gateway, lmtp):
    """An LMTP server's RCPT refusal reaches the client at RCPT, as with SMTP."""
    lmtp.rcpt_replies = {B: "550 5.1.1 <b@example.test> User doesn't exist"}
    gw = start_gateway(backend=lmtp_backend(lmtp, lmtp_multi_recipient="merge"))
    rcpts, final = transaction(gw.port, [A, B])
    assert [r.code for r in rcpts] == [250, 550]
    assert final.code == 250
    assert lmtp.wait_for_transactions(1)[0].rcpts == [A]


def test_lmtp_over_unix_socket(start_gateway, tmp_path):
    with lmtp_server(unix_path=tmp_path / "lmtp.sock") as server:
        gw = start_gateway(backend=lmtp_backend(server))
        _, final = transaction(gw.port, [A])
        assert final.code == 250
        assert server.wait_for_transactions(1)[0].rcpts == [A]


def test_lmtp_route(start_gateway, build, backend, lmtp):
    """An LMTP route beside the default SMTP backend."""
    from mailgate_process import relay_access_entry
    gw = start_gateway(routes=[{"domains": ["mailbox.test"], "backend": lmtp_backend(lmtp)}],
                       plugins=[relay_access_entry(build, local_domains=("example.test",
                                                                          "mailbox.test"))])
    _, final = transaction(gw.port, ["x@mailbox.test"])
    assert final.code == 250
    assert lmtp.wait_for_transactions(1)[0].rcpts == ["x@mailbox.test"]
    _, final = transaction(gw.port, [A])
    assert final.code == 250
    assert backend.wait_for_transactions(1)[0].rcpts == [A]
