"""Plugin verdicts at each stage reach the client with their SMTP meaning, in YAML order."""

from mailgate_process import relay_access_entry, verdict_entry
from smtp_client import RawClient, open_session, send_message
from smtp_text import header_block, split_received

SENDER = "sender@remote.example"
RCPT = "user@example.test"
BODY = b"Subject: plugins\r\n\r\nhello\r\n"


def start_with(start_gateway, build, *verdicts: dict):
    """mailgate with the given verdict plugins first, then relay_access."""
    return start_gateway(plugins=[*verdicts, relay_access_entry(build)])


def end_of_message_reply(gw):
    """Sends one message to RCPT; the reply to its final dot."""
    with RawClient(gw.port) as client:
        open_session(client)
        return send_message(client, SENDER, [RCPT], BODY)


def test_end_of_message_reject(start_gateway, build, backend):
    """A reject at end of message answers 554 with the plugin's text; the backend gets no DATA."""
    gw = start_with(start_gateway, build, verdict_entry(
        build, stage="end_of_message", verdict="reject", code=554, enhanced="5.7.1",
        text="Rejected by verdict_plugin"))
    reply = end_of_message_reply(gw)
    assert reply.code == 554 and "Rejected by verdict_plugin" in reply.text, str(reply)
    assert backend.commands("DATA") == [] and backend.transactions == []


def test_end_of_message_tempfail(start_gateway, build, backend):
    """A tempfail at end of message answers 4xx; the backend gets no DATA."""
    gw = start_with(start_gateway, build,
                    verdict_entry(build, stage="end_of_message", verdict="tempfail"))
    reply = end_of_message_reply(gw)
    assert reply.code // 100 == 4, str(reply)
    assert backend.commands("DATA") == [] and backend.transactions == []


def test_end_of_message_discard(start_gateway, build, backend):
    """A discard answers 250 but delivers nothing."""
    gw = start_with(start_gateway, build,
                    verdict_entry(build, stage="end_of_message", verdict="discard"))
    reply = end_of_message_reply(gw)
    assert reply.code == 250, str(reply)
    assert backend.commands("DATA") == [] and backend.transactions == []


def test_add_header(start_gateway, build, backend):
    """A header added at end of message is in the delivered message's header section."""
    gw = start_with(start_gateway, build, verdict_entry(
        build, stage="end_of_message", verdict="continue", add_header="X-Verdict-Test: added"))
    assert end_of_message_reply(gw).code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert b"\r\nX-Verdict-Test: added\r\n" in b"\r\n" + header_block(tx.data)
    assert split_received(tx.data)[1].endswith(b"\r\nhello\r\n")


def test_disconnect_at_helo(start_gateway, build):
    """A disconnect verdict at HELO answers 421 and closes the connection."""
    gw = start_with(start_gateway, build, verdict_entry(build, stage="helo", verdict="disconnect"))
    with RawClient(gw.port) as client:
        assert client.greeting().code == 220
        reply = client.ehlo()
        assert reply.code == 421, str(reply)
        assert client.wait_closed(5)


def test_connect_reject(start_gateway, build, backend):
    """A reject at connect replaces the greeting with 554 and closes the connection."""
    gw = start_with(start_gateway, build, verdict_entry(
        build, stage="connect", verdict="reject", code=554, text="No thanks"))
    with RawClient(gw.port) as client:
        reply = client.greeting()
        assert reply.code == 554, str(reply)
        assert client.wait_closed(5)
    assert backend.connection_count == 0


def test_rcpt_reject_with_match(start_gateway, build, backend):
    """A rcpt_to reject filtered by match refuses only the matching recipient."""
    gw = start_with(start_gateway, build, verdict_entry(
        build, stage="rcpt_to", verdict="reject", code=550, enhanced="5.7.1",
        text="Blocked", match="blocked"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        blocked = client.command("RCPT TO:<blocked@example.test>")
        assert blocked.code == 550, str(blocked)
        assert client.command("RCPT TO:<ok@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        assert client.read_reply().code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert tx.rcpts == ["ok@example.test"]


def test_accept_stops_the_stage(start_gateway, build, backend):
    """An accept at rcpt_to stops the stage: a later plugin's reject is never asked."""
    gw = start_with(
        start_gateway, build,
        verdict_entry(build, name="first_accepts", stage="rcpt_to", verdict="accept"),
        verdict_entry(build, name="second_rejects", stage="rcpt_to", verdict="reject",
                      code=550, text="second plugin"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        reply = client.command(f"RCPT TO:<{RCPT}>")
    assert reply.code == 250, str(reply)
