"""End to end with a real Exim behind mailgate: client -> mailgate -> Exim -> Maildir.

The Exim is a private daemon (exim_instance.py) on a free loopback port, delivering example.test
into Maildirs; it is the Debian binary unpacked by scripts/install-deps.sh, never installed.
"""

import re

import pytest

from daemon_process import run_instance
from exim_instance import HOSTNAME as EXIM_HOSTNAME
from exim_instance import EximInstance, exim_binary
from mailgate_process import HOSTNAME, smtp_backend
from smtp_client import smtp
from test_postfix_backend import BODY, IDEAL, OTHER, SENDER, fields, message, named

UNKNOWN = "nobody-here@example.test"
HELO_TO_BACKEND = "mailgate.test.example"


@pytest.fixture(scope="module")
def exim():
    binary, why = exim_binary()
    if binary is None:
        pytest.skip(f"no private Exim: {why}")
    instance = EximInstance.create(binary)
    yield from run_instance(instance)


@pytest.fixture
def gateway(start_gateway, exim):
    return start_gateway(backend=smtp_backend(exim.port, helo_name=HELO_TO_BACKEND,
                                              command_timeout="20s"))


def test_message_lands_in_exim_maildir(gateway, exim):
    """Envelope (Return-path, Envelope-to), Exim's Received above ours, body bytes unchanged."""
    content, message_id = message("through exim", body=BODY)
    with smtp(gateway.port) as client:
        refused = client.sendmail(SENDER, [IDEAL], content, mail_options=["BODY=8BITMIME"])
    assert refused == {}
    stored = exim.wait_for_message("ideal", message_id)
    found, rest = fields(stored)
    assert [name for name, _ in found] == [
        "Return-path", "Envelope-to", "Delivery-date", "Received", "Received"], found
    assert named(found, "Return-path") == [f"<{SENDER}>"]
    assert named(found, "Envelope-to") == [IDEAL]
    exim_received, mailgate_received = named(found, "Received")
    assert re.match(
        rf"from \[127\.0\.0\.1\] \(helo={re.escape(HELO_TO_BACKEND)}\)\n"
        rf"\tby {re.escape(EXIM_HOSTNAME)} with esmtp \(Exim 4\.\d+\)\n"
        rf"\t\(envelope-from <{re.escape(SENDER)}>\)\n", exim_received), exim_received
    assert re.match(rf"from client\.example \(\[127\.0\.0\.1\]\)\n"
                    rf"\tby {re.escape(HOSTNAME)} \(mailgate\) with E?SMTP id \S+\n"
                    rf"\tfor <{re.escape(IDEAL)}>; ", mailgate_received), mailgate_received
    assert rest == content
    assert rest.endswith(BODY)
    assert exim.maildir_files("other") == []


def test_unknown_recipient_refused_by_exim_at_rcpt(gateway, exim):
    """Exim's own 550 for an unknown user reaches the client at RCPT; the known one gets it."""
    content, message_id = message("one unknown", to=OTHER)
    with smtp(gateway.port) as client:
        refused = client.sendmail(SENDER, [UNKNOWN, OTHER], content)
    assert list(refused) == [UNKNOWN], refused
    code, text = refused[UNKNOWN]
    assert code == 550, refused
    assert b"Unrouteable address" in text, refused  # Exim's words
    stored = exim.wait_for_message("other", message_id)
    found, rest = fields(stored)
    assert named(found, "Envelope-to") == [OTHER]
    assert rest == content
    assert f"rejected RCPT <{UNKNOWN}>: Unrouteable address" in exim.mainlog()


def test_two_recipients_one_message(gateway, exim):
    content, message_id = message("two recipients")
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, [IDEAL, OTHER], content) == {}
    for user, rcpt in (("ideal", IDEAL), ("other", OTHER)):
        found, rest = fields(exim.wait_for_message(user, message_id))
        assert named(found, "Envelope-to") == [rcpt]
        assert rest == content
