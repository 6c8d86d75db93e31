"""Well-formed SMTP commands get the replies RFC 5321 and the ESMTP extensions ask for."""

import pytest

from mailgate_process import HOSTNAME
from smtp_client import RawClient, open_session

MAX_MESSAGE_SIZE = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def gw(module_start_gateway):
    return module_start_gateway(limits={"max_message_size": "10MiB"})


def test_greeting_names_the_host(gw):
    """The greeting is 220 and carries the configured hostname."""
    with RawClient(gw.port) as client:
        reply = client.greeting()
    assert reply.code == 220 and HOSTNAME in reply.lines[0], str(reply)


def test_ehlo_advertises_extensions(gw):
    """EHLO gets a multi-line 250 with the hostname and every promised ESMTP keyword."""
    with RawClient(gw.port) as client:
        client.greeting()
        reply = client.ehlo()
    assert reply.code == 250 and len(reply.lines) > 1, str(reply)
    assert HOSTNAME in reply.lines[0]
    keywords = {line.split(" ")[0].upper(): line for line in reply.lines[1:]}
    for keyword in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"):
        assert keyword in keywords, str(reply)
    assert keywords["SIZE"].split() == ["SIZE", str(MAX_MESSAGE_SIZE)], str(reply)


def test_helo_accepted(gw):
    """HELO (plain SMTP) gets 250."""
    with RawClient(gw.port) as client:
        client.greeting()
        assert client.command("HELO client.example").code == 250


@pytest.mark.parametrize("command", ["NOOP", "RSET", "noop"])
def test_noop_and_rset(gw, command):
    """NOOP and RSET (in any case) get 250 2.0.0."""
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command(command)
    assert (reply.code, reply.enhanced) == (250, "2.0.0"), str(reply)


def test_quit_closes(gw):
    """QUIT gets 221 2.0.0 and the server closes the connection."""
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command("QUIT")
        assert (reply.code, reply.enhanced) == (221, "2.0.0"), str(reply)
        assert client.wait_closed(5)


def test_vrfy_and_help(gw):
    """VRFY gets 252 (cannot verify, will try) and HELP gets 214."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command("VRFY someone").code == 252
        assert client.command("HELP").code == 214


@pytest.mark.parametrize("command, text", [
    ("EXPN staff", "EXPN is disabled"),
    ("BDAT 4 LAST", "BDAT is not offered by this server"),
    ("STARTTLS", "STARTTLS is not offered by this server"),
    ("AUTH PLAIN", "AUTH is not offered by this server"),
])
def test_commands_not_offered(gw, command, text):
    """EXPN (disabled on purpose) and the unadvertised BDAT, STARTTLS, AUTH: 502 5.5.1 saying so."""
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command(command)
        assert (reply.code, reply.enhanced) == (502, "5.5.1"), str(reply)
        assert text in reply.text
        assert client.command("NOOP").code == 250  # the session goes on


def test_mail_from_without_brackets(gw, module_backend):
    """MAIL FROM:user@host without <> is accepted (liberal, like the big MTAs) and relayed."""
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command("MAIL FROM:user@example.com")
        assert reply.code == 250, str(reply)
        # The backend offers PIPELINING: MAIL goes out with the first RCPT.
        assert client.command("RCPT TO:<rcpt@example.test>").code == 250
        client.command("QUIT")
    mails = module_backend.wait_for_command("MAIL FROM:")
    assert any("user@example.com" in line for line in mails), mails
