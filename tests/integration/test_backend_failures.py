"""The backend's answers reach the client; a backend down, slow or left mid-DATA loses nothing."""

import time

from mailgate_process import free_port, smtp_backend
from smtp_client import RawClient, open_session, smtp
from smtp_text import split_received

SENDER = "sender@remote.example"
BODY = b"Subject: backend\r\n\r\nhello\r\n"


def test_backend_rcpt_replies_reach_client(gateway, backend):
    """Backend 550 5.1.1 and 451 4.3.0 come back at RCPT; the message goes to the rest only."""
    backend.rcpt_replies = {
        "unknown@example.test": "550 5.1.1 <unknown@example.test>: User unknown",
        "busy@example.test": "451 4.3.0 Try later",
    }
    with RawClient(gateway.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        unknown = client.command("RCPT TO:<unknown@example.test>")
        busy = client.command("RCPT TO:<busy@example.test>")
        ok = client.command("RCPT TO:<ok@example.test>")
        assert (unknown.code, unknown.enhanced) == (550, "5.1.1"), str(unknown)
        assert busy.code == 451, str(busy)
        assert ok.code == 250, str(ok)
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        assert client.read_reply().code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert tx.rcpts == ["ok@example.test"]
    assert split_received(tx.data)[1] == BODY


def test_backend_data_reject_reaches_client(gateway, backend):
    """Backend 554 5.7.0 to the end of DATA is the client's answer, code and enhanced code."""
    backend.data_reply = "554 5.7.0 Content rejected"
    with RawClient(gateway.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<user@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        reply = client.read_reply()
    assert (reply.code, reply.enhanced) == (554, "5.7.0"), str(reply)


def test_backend_down_tempfails_mail(start_gateway):
    """With the only backend unreachable, MAIL gets 451 4.4.1."""
    gw = start_gateway(backend=smtp_backend(free_port()))
    with RawClient(gw.port, timeout=10) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
    assert (reply.code, reply.enhanced) == (451, "4.4.1"), str(reply)


def test_failover_to_second_backend(start_gateway, backend):
    """With the first backend down, the message is delivered through the second."""
    gw = start_gateway(backend=smtp_backend(free_port(), backend.port))
    with smtp(gw.port) as client:
        assert client.sendmail(SENDER, ["user@example.test"], BODY) == {}
    (tx,) = backend.wait_for_transactions(1)
    assert split_received(tx.data)[1] == BODY


def test_backend_timeout_after_data_tempfails(start_gateway, backend):
    """A backend that never answers the final dot (timeouts 2s) gives the client 451, not 250."""
    backend.hang_after_data = True
    gw = start_gateway(backend=smtp_backend(backend.port, command_timeout="2s",
                                            data_timeout="2s"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<user@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        reply = client.read_reply(timeout=15)
    assert reply.code == 451, str(reply)


def test_disconnect_mid_data_forwards_nothing(gateway, backend):
    """A client gone before the final dot leaves no message at the backend; service goes on."""
    with RawClient(gateway.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<user@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(b"Subject: cut\r\n\r\nline one\r\nline two\r\n")
    time.sleep(1.0)
    assert backend.transactions == []
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, ["user@example.test"], BODY) == {}
    (tx,) = backend.wait_for_transactions(1)
    assert split_received(tx.data)[1] == BODY
