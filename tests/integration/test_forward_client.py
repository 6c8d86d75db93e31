"""The backend learns the real client: XCLIENT (once per connection, then EHLO again) or
XFORWARD (before each MAIL), as the backend advertises them, per backend.forward_client."""

import pytest

from mailgate_process import HOSTNAME, smtp_backend
from smtp_client import RawClient, open_session, send_message

SENDER = "sender@remote.example"
BODY = b"Subject: forward\r\n\r\nhello\r\n"
XCLIENT = "XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT"
XFORWARD = "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE"
CLIENT_IP = "127.0.0.2"  # the client connects from here, mailgate to the backend from 127.0.0.1


def send(port: int, count: int = 1, helo: str = "client.example") -> tuple[int, list]:
    """Sends `count` messages on one connection from CLIENT_IP; returns (client port, replies)."""
    with RawClient(port, source=CLIENT_IP) as client:
        open_session(client, helo)
        replies = [send_message(client, SENDER, ["user@example.test"], BODY)
                   for _ in range(count)]
        return client.sock.getsockname()[1], replies


def test_xclient_sent_once_then_ehlo_again(start_gateway, backend):
    """XCLIENT after our EHLO, with the client's address, port, HELO and protocol (NAME and ADDR
    last), then EHLO again with the client's name; both messages on that one connection."""
    backend.ehlo_extra = [XCLIENT]
    gw = start_gateway()
    client_port, replies = send(gw.port, count=2)
    assert [r.code for r in replies] == [250, 250]
    txs = backend.wait_for_transactions(2)
    (session,) = backend.sessions
    assert session.commands[:3] == [
        f"EHLO {HOSTNAME}",
        f"XCLIENT HELO=client.example PROTO=ESMTP DESTADDR=127.0.0.1 DESTPORT={gw.port} "
        f"PORT={client_port} LOGIN=[UNAVAILABLE] NAME=[UNAVAILABLE] ADDR={CLIENT_IP}",
        "EHLO client.example",
    ]
    assert session.commands[3].startswith("MAIL FROM:")
    assert sum(c.startswith("XCLIENT") for c in session.commands) == 1
    for tx in txs:
        assert tx.xclient == {"HELO": "client.example", "PROTO": "ESMTP", "ADDR": CLIENT_IP,
                              "PORT": str(client_port), "NAME": "[UNAVAILABLE]", "LOGIN": "[UNAVAILABLE]",
                              "DESTADDR": "127.0.0.1", "DESTPORT": str(gw.port)}
        assert tx.xforward == {}
    # the exact bytes on the wire
    assert b"XCLIENT HELO=client.example PROTO=ESMTP" in bytes(session.raw)


def test_xclient_only_advertised_attributes_and_xtext(start_gateway, backend):
    """Only the attributes the backend names are sent; '+', '=' and others are xtext-encoded."""
    backend.ehlo_extra = ["XCLIENT ADDR HELO"]
    gw = start_gateway()
    with RawClient(gw.port, source=CLIENT_IP) as client:
        open_session(client, "odd+name=x")
        assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
    (session,) = backend.sessions
    assert session.commands[1] == f"XCLIENT HELO=odd+2Bname+3Dx ADDR={CLIENT_IP}"
    assert backend.wait_for_transactions(1)[0].xclient == {"HELO": "odd+name=x",
                                                           "ADDR": CLIENT_IP}


def test_xclient_identity_change_opens_new_connection(start_gateway, backend):
    """A connection bound by XCLIENT serves only that client identity: after a new EHLO name
    the next message goes over a new backend connection."""
    backend.ehlo_extra = [XCLIENT]
    gw = start_gateway()
    with RawClient(gw.port, source=CLIENT_IP) as client:
        open_session(client, "first.example")
        assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
        assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
        assert client.ehlo("second.example").code == 250
        assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
    txs = backend.wait_for_transactions(3)
    assert [tx.session for tx in txs] == [1, 1, 2]
    assert [tx.xclient["HELO"] for tx in txs] == ["first.example"] * 2 + ["second.example"]


def test_xforward_before_each_mail(start_gateway, backend):
    """XFORWARD (per transaction) before every MAIL, with the transaction id as IDENT."""
    backend.ehlo_extra = [XFORWARD]
    gw = start_gateway()
    client_port, replies = send(gw.port, count=2)
    assert [r.code for r in replies] == [250, 250]
    txs = backend.wait_for_transactions(2)
    (session,) = backend.sessions
    xforwards = [c for c in session.commands if c.startswith("XFORWARD")]
    assert len(xforwards) == 2
    idents = []
    for tx in txs:
        assert tx.xclient == {}
        idents.append(tx.xforward.pop("IDENT"))
        assert tx.xforward == {"PROTO": "ESMTP", "HELO": "client.example", "SOURCE": "REMOTE",
                               "PORT": str(client_port), "NAME": "[UNAVAILABLE]",
                               "ADDR": CLIENT_IP}
    assert idents[0].endswith(".1") and idents[1].endswith(".2"), idents
    index = session.commands.index(xforwards[1])
    assert session.commands[index + 1].startswith("MAIL FROM:")


def test_auto_prefers_xclient(start_gateway, backend):
    """With both offered, auto uses XCLIENT only."""
    backend.ehlo_extra = [XFORWARD, XCLIENT]
    gw = start_gateway()
    send(gw.port)
    (tx,) = backend.wait_for_transactions(1)
    assert tx.xclient["ADDR"] == CLIENT_IP
    assert backend.commands("XFORWARD") == []


def test_forced_xforward_when_both_offered(start_gateway, backend):
    backend.ehlo_extra = [XFORWARD, XCLIENT]
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="xforward"))
    send(gw.port)
    (tx,) = backend.wait_for_transactions(1)
    assert tx.xforward["ADDR"] == CLIENT_IP
    assert backend.commands("XCLIENT") == []


def test_off_sends_neither(start_gateway, backend):
    backend.ehlo_extra = [XFORWARD, XCLIENT]
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    send(gw.port)
    backend.wait_for_transactions(1)
    assert backend.commands("XCLIENT") == [] and backend.commands("XFORWARD") == []


def test_auto_without_offer_sends_nothing(start_gateway, backend):
    gw = start_gateway()
    send(gw.port)
    backend.wait_for_transactions(1)
    assert backend.commands("XCLIENT") == [] and backend.commands("XFORWARD") == []


@pytest.mark.parametrize("mode", ["xclient", "xforward"])
def test_required_but_not_offered_refuses_server(start_gateway, backend, mode):
    """forward_client: xclient/xforward is a requirement: a server that does not offer it is
    not used (the backend would take mailgate's address for the client's)."""
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client=mode))
    with RawClient(gw.port, source=CLIENT_IP) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
    assert (reply.code, reply.enhanced) == (451, "4.4.1"), str(reply)
    assert f"does not offer {mode.upper()}" in gw.log_text()
    assert backend.commands("MAIL") == []


def test_xclient_answered_250_is_accepted(start_gateway, backend):
    """smtp-sink answers XCLIENT with 250, not Postfix's 220: that is success too, so no
    XFORWARD follows it, and mailgate greets again."""
    backend.ehlo_extra = [XFORWARD, XCLIENT]
    backend.xclient_reply = "250 2.0.0 Ok"
    gw = start_gateway()
    _, replies = send(gw.port, count=2)
    assert [r.code for r in replies] == [250, 250]
    txs = backend.wait_for_transactions(2)
    assert all(tx.xclient["ADDR"] == CLIENT_IP for tx in txs)
    assert backend.commands("XFORWARD") == []
    assert backend.commands("EHLO") == [f"EHLO {HOSTNAME}", "EHLO client.example"]
    assert "XCLIENT refused" not in gw.log_text()


def test_auto_goes_on_when_xclient_refused(start_gateway, backend):
    """auto: a refused XCLIENT is logged, and the mail goes through without it."""
    backend.ehlo_extra = [XCLIENT]
    backend.xclient_reply = "550 5.7.0 Error: insufficient authorization"
    gw = start_gateway()
    _, replies = send(gw.port)
    assert replies[0].code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert tx.xclient == {}
    assert "XCLIENT refused: 550 5.7.0" in gw.log_text()
    assert backend.commands("EHLO") == [f"EHLO {HOSTNAME}"]


def test_required_xclient_refused_refuses_server(start_gateway, backend):
    backend.ehlo_extra = [XCLIENT]
    backend.xclient_reply = "550 5.7.0 Error: insufficient authorization"
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="xclient"))
    with RawClient(gw.port, source=CLIENT_IP) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
    assert (reply.code, reply.enhanced) == (451, "4.4.1"), str(reply)


def test_required_xforward_refused_tempfails(start_gateway, backend):
    backend.ehlo_extra = [XFORWARD]
    backend.xforward_reply = "550 5.7.0 Error: insufficient authorization"
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="xforward"))
    with RawClient(gw.port, source=CLIENT_IP) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
    assert (reply.code, reply.enhanced) == (451, "4.3.0"), str(reply)
    assert backend.commands("MAIL") == []
