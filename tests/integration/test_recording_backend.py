"""Self-check of the test harness: the recording backend and the raw client, without mailgate."""

import pytest

from smtp_client import RawClient, ReplyTimeout, open_session, send_message, smtp
from smtp_text import dot_stuff, wire_problems

CONTENT = b"Subject: t\r\n\r\n.dot\r\n..two\r\n.\r\nend\r\n"


def test_records_smtplib_message_byte_exact(backend):
    """smtplib's dot-stuffed DATA is recorded as sent (data_raw) and unstuffed (data)."""
    with smtp(backend.port) as client:
        assert client.sendmail("a@remote.example", ["b@example.test"], CONTENT) == {}
    (tx,) = backend.wait_for_transactions(1)
    assert tx.data_raw == dot_stuff(CONTENT)
    assert tx.data == CONTENT
    assert wire_problems(tx.data_raw) == []
    assert (tx.helo, tx.sender, tx.rcpts) == ("client.example", "a@remote.example",
                                              ["b@example.test"])
    assert tx.reply == "250 2.0.0 Ok: queued as ID1"
    assert backend.connection_count == 1


def test_rcpt_replies_are_programmable(backend):
    """rcpt_replies refuses chosen recipients; only accepted ones are in the transaction."""
    backend.rcpt_replies = {"unknown@example.test": "550 5.1.1 <unknown@example.test>: no",
                            "busy@example.test": "451 4.3.0 Try later"}
    with smtp(backend.port) as client:
        refused = client.sendmail("a@remote.example",
                                  ["Unknown@example.test", "busy@example.test", "ok@example.test"],
                                  CONTENT)
    assert {k: v[0] for k, v in refused.items()} == {"Unknown@example.test": 550,
                                                     "busy@example.test": 451}
    (tx,) = backend.wait_for_transactions(1)
    assert tx.rcpts == ["ok@example.test"]
    assert backend.rcpt_addresses() == ["Unknown@example.test", "busy@example.test",
                                        "ok@example.test"]


def test_pipelined_commands_answered_in_order(backend):
    """MAIL/RCPT/RCPT/DATA in one write get four replies in order; the message is recorded."""
    with RawClient(backend.port) as client:
        open_session(client)
        client.send(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n")
        assert [client.read_reply().code for _ in range(4)] == [250, 250, 250, 354]
        client.send(b"hi\r\n.\r\n")
        assert client.read_reply().code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert tx.rcpts == ["b@y", "c@y"] and tx.data == b"hi\r\n"


def test_data_reply_and_empty_message(backend):
    """data_reply replaces the answer to the final dot; an empty message is recorded as b""."""
    backend.data_reply = "554 5.7.0 Content rejected"
    with RawClient(backend.port) as client:
        open_session(client)
        reply = send_message(client, "a@x", ["b@y"], b"")
        assert (reply.code, reply.enhanced) == (554, "5.7.0")
    (tx,) = backend.wait_for_transactions(1)
    assert tx.data_raw == b""


def test_only_crlf_dot_crlf_ends_data(backend):
    """A '.' after a bare LF does not end DATA in the backend, so smuggling shows up in data."""
    with RawClient(backend.port) as client:
        open_session(client)
        client.send(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n")
        assert [client.read_reply().code for _ in range(3)] == [250, 250, 354]
        client.send(b"a\n.\nb\r\n.\r\n")
        assert client.read_reply().code == 250
        assert client.pending(0.3) == b""
    (tx,) = backend.wait_for_transactions(1)
    assert tx.data_raw == b"a\n.\nb\r\n"
    assert wire_problems(tx.data_raw) == ["bare CR or LF"]


def test_hang_after_data_never_answers(backend):
    """hang_after_data records the message but never answers the final dot."""
    backend.hang_after_data = True
    with RawClient(backend.port, timeout=1.0) as client:
        open_session(client)
        client.send(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n")
        assert [client.read_reply().code for _ in range(3)] == [250, 250, 354]
        client.send(b"x\r\n.\r\n")
        with pytest.raises(ReplyTimeout):
            client.read_reply()
    assert backend.wait_for_transactions(1)[0].reply == ""


def test_disconnect_mid_data_records_nothing(backend):
    """A client that leaves before the final dot leaves no transaction; the raw bytes are kept."""
    with RawClient(backend.port) as client:
        open_session(client)
        client.send(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n")
        assert [client.read_reply().code for _ in range(3)] == [250, 250, 354]
        client.send(b"partial\r\n")
    (session,) = backend.wait_for_closed(1)
    assert backend.transactions == []
    assert session.raw.endswith(b"DATA\r\npartial\r\n")
