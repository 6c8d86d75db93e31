"""Out-of-order, malformed and over-limit commands get the right code and enhanced code."""

import pytest

from smtp_client import ConnectionClosed, RawClient, open_session

SENDER = "sender@remote.example"


@pytest.fixture(scope="module")
def gw(module_start_gateway):
    return module_start_gateway(limits={"max_recipients": 3, "max_message_size": "10KiB"})


def reply_to(client, command):
    reply = client.command(command)
    return reply.code, reply.enhanced


def test_mail_before_helo(gw):
    """MAIL before HELO/EHLO gets 503 5.5.1."""
    with RawClient(gw.port) as client:
        client.greeting()
        assert reply_to(client, f"MAIL FROM:<{SENDER}>") == (503, "5.5.1")


def test_nested_mail(gw):
    """A second MAIL inside a transaction gets 503 5.5.1."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, f"MAIL FROM:<{SENDER}>")[0] == 250
        assert reply_to(client, f"MAIL FROM:<{SENDER}>") == (503, "5.5.1")


def test_rcpt_before_mail(gw):
    """RCPT before MAIL gets 503 5.5.1."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, "RCPT TO:<user@example.test>") == (503, "5.5.1")


def test_data_before_mail(gw):
    """DATA before MAIL gets 503 5.5.1."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, "DATA") == (503, "5.5.1")


def test_data_without_accepted_recipient(gw):
    """DATA after every recipient was refused gets 554 5.5.1."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, f"MAIL FROM:<{SENDER}>")[0] == 250
        assert reply_to(client, "RCPT TO:<user@other.example>")[0] == 550
        assert reply_to(client, "DATA") == (554, "5.5.1")


def test_data_without_any_rcpt(gw):
    """DATA after MAIL but no RCPT at all gets a 5xx with 5.5.1 (554 or 503)."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, f"MAIL FROM:<{SENDER}>")[0] == 250
        code, enhanced = reply_to(client, "DATA")
    assert code in (503, 554) and enhanced == "5.5.1"


def test_unknown_command(gw):
    """An unknown verb gets 500 5.5.1."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, "FROBNICATE now") == (500, "5.5.1")


@pytest.mark.parametrize("setup, command", [
    ([], "MAIL FROM:<a@b"),
    ([], "MAIL TO:<x@example.test>"),
    ([f"MAIL FROM:<{SENDER}>"], "RCPT TO:<>"),
    ([f"MAIL FROM:<{SENDER}>"], "RCPT TO:<user@example.test"),
])
def test_bad_syntax(gw, setup, command):
    """Bad MAIL/RCPT syntax gets 501 with 5.5.4, 5.1.7 or 5.1.3."""
    with RawClient(gw.port) as client:
        open_session(client)
        for line in setup:
            assert reply_to(client, line)[0] == 250
        code, enhanced = reply_to(client, command)
    assert code == 501 and enhanced in ("5.5.4", "5.1.7", "5.1.3"), (code, enhanced)


def test_declared_size_over_limit(gw):
    """MAIL with SIZE= above max_message_size gets 552 5.3.4."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, f"MAIL FROM:<{SENDER}> SIZE=20000") == (552, "5.3.4")


def test_too_many_recipients(gw):
    """Recipients beyond max_recipients (3) get 452 4.5.3; the first three are accepted."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, f"MAIL FROM:<{SENDER}>")[0] == 250
        codes = [reply_to(client, f"RCPT TO:<user{i}@example.test>") for i in range(5)]
    assert [c[0] for c in codes[:3]] == [250, 250, 250]
    assert codes[3:] == [(452, "4.5.3"), (452, "4.5.3")]


def test_command_line_too_long(gw):
    """A command line over 512 octets gets 500 5.5.2 and the session goes on."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, "NOOP " + "x" * 600) == (500, "5.5.2")
        assert reply_to(client, "NOOP")[0] == 250


def test_command_line_at_limit(gw):
    """A command line of exactly 512 octets including CRLF is accepted."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert reply_to(client, "NOOP " + "x" * (512 - 5 - 2))[0] == 250


@pytest.mark.parametrize("line", [b"NOOP\n", b"NO\x00OP\r\n", b"NOOP\x00\r\n"])
def test_bare_lf_and_nul_in_command(gw, line):
    """A command ended by a bare LF, or containing NUL, gets 500 5.5.2."""
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command(line)
    assert (reply.code, reply.enhanced) == (500, "5.5.2"), str(reply)


def test_too_many_errors_end_session(start_gateway):
    """After max_errors (3) errors the server answers 421 4.7.0 and closes the connection."""
    gw = start_gateway(limits={"max_errors": 3})
    replies = []
    with RawClient(gw.port) as client:
        open_session(client)
        for _ in range(5):
            try:
                client.send(b"BOGUS\r\n")
                replies.append(client.read_reply())
                if replies[-1].code != 421 and client.has_data(0.3):
                    replies.append(client.read_reply())  # a 421 may follow the third 500
            except (ConnectionClosed, OSError):
                break
            if replies[-1].code == 421:
                break
        closed = client.wait_closed(5)
    codes = [(r.code, r.enhanced) for r in replies]
    assert codes[-1:] == [(421, "4.7.0")], codes
    assert [c[0] for c in codes[:-1]] in ([500, 500], [500, 500, 500]), codes
    assert closed


def test_early_talker_refused(start_gateway, backend):
    """A client talking before the greeting (delay 1s) gets 554 and is disconnected."""
    gw = start_gateway(limits={"greeting_delay": "1s"})
    with RawClient(gw.port) as client:
        client.send(b"EHLO early.example\r\n")
        reply = client.read_reply(timeout=5)
        assert reply.code == 554, str(reply)
        assert client.wait_closed(5)
    assert backend.connection_count == 0


def test_patient_client_greeted_after_delay(start_gateway):
    """A client that waits through greeting_delay gets the normal 220."""
    gw = start_gateway(limits={"greeting_delay": "1s"})
    with RawClient(gw.port) as client:
        assert client.greeting(timeout=5).code == 220
        assert client.ehlo().code == 250
