"""End to end with a real Dovecot LMTP server behind mailgate: client -> mailgate (SMTP) ->
Dovecot (LMTP) -> Maildir, over TCP and over Dovecot's unix socket.

The Dovecot is a private daemon (dovecot_instance.py), Debian's binaries unpacked by
scripts/install-deps.sh and run in a private mount namespace; it is skipped, with the reason,
where that cannot run.
"""

import re

import pytest

from daemon_process import run_instance
from dovecot_instance import DovecotInstance, dovecot_root
from mailgate_process import HOSTNAME
from smtp_client import RawClient, open_session, send_message, smtp
from test_postfix_backend import BODY, IDEAL, OTHER, SENDER, fields, message, named

UNKNOWN = "nobody-here@example.test"
HELO_TO_BACKEND = "mailgate.test.example"


@pytest.fixture(scope="module")
def dovecot():
    root, why = dovecot_root()
    if root is None:
        pytest.skip(f"no private Dovecot: {why}")
    instance = DovecotInstance.create(root)
    yield from run_instance(instance)


def lmtp_backend(server: str, **more):
    return {"type": "lmtp", "servers": [server], "helo_name": HELO_TO_BACKEND,
            "connect_timeout": "5s", "command_timeout": "20s", **more}


@pytest.fixture(params=["tcp", "unix"])
def gateway(request, start_gateway, dovecot):
    server = (f"127.0.0.1:{dovecot.port}" if request.param == "tcp"
              else f"unix:{dovecot.socket_path}")
    return start_gateway(backend=lmtp_backend(server))


def test_message_lands_in_dovecot_maildir(gateway, dovecot):
    """Dovecot's envelope headers and Received (with LMTP), then ours, then the content."""
    content, message_id = message("through dovecot", body=BODY)
    with smtp(gateway.port) as client:
        refused = client.sendmail(SENDER, [IDEAL], content, mail_options=["BODY=8BITMIME"])
    assert refused == {}
    found, rest = fields(dovecot.wait_for_message("ideal", message_id))
    assert [name for name, _ in found] == [
        "Return-Path", "Delivered-To", "Received", "Received"], found
    assert named(found, "Return-Path") == [f"<{SENDER}>"]
    assert named(found, "Delivered-To") == [IDEAL]
    dovecot_received, mailgate_received = named(found, "Received")
    # "from mailgate.test.example ([127.0.0.1])" over TCP, no address over the unix socket
    assert re.match(rf"from {re.escape(HELO_TO_BACKEND)}( \(\[127\.0\.0\.1\]\))?\n"
                    rf"\tby \S+ with LMTP\n\tid \S+\n"
                    rf"\t\(envelope-from <{re.escape(SENDER)}>\)\n"
                    rf"\tfor <{re.escape(IDEAL)}>; ", dovecot_received), dovecot_received
    assert f"by {HOSTNAME} (mailgate)" in mailgate_received
    assert rest == content


def test_unknown_user_refused_at_rcpt(gateway, dovecot):
    """Dovecot's 550 5.1.1 for an unknown user reaches the client at RCPT."""
    content, message_id = message("unknown user", to=OTHER)
    with RawClient(gateway.port, timeout=20) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        unknown = client.command(f"RCPT TO:<{UNKNOWN}>")
        assert (unknown.code, unknown.enhanced) == (550, "5.1.1"), str(unknown)
        assert "User doesn't exist" in unknown.text  # Dovecot's words
        assert client.command(f"RCPT TO:<{OTHER}>").code == 250
        assert client.command("DATA").code == 354
        client.send(content + b".\r\n")
        final = client.read_reply()
    assert final.code == 250, str(final)
    found, rest = fields(dovecot.wait_for_message("other", message_id))
    assert named(found, "Delivered-To") == [OTHER]
    assert rest == content


def test_split_sends_each_recipient_on_its_own(gateway, dovecot):
    """lmtp_multi_recipient: split: the second recipient gets 452 4.5.3, the client sends it
    in its own transaction, and both mailboxes get the message."""
    content, message_id = message("two mailboxes")
    with RawClient(gateway.port, timeout=20) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command(f"RCPT TO:<{IDEAL}>").code == 250
        second = client.command(f"RCPT TO:<{OTHER}>")
        assert (second.code, second.enhanced) == (452, "4.5.3"), str(second)
        assert client.command("DATA").code == 354
        client.send(content + b".\r\n")
        assert client.read_reply().code == 250
        assert send_message(client, SENDER, [OTHER], content).code == 250
    for user, rcpt in (("ideal", IDEAL), ("other", OTHER)):
        found, rest = fields(dovecot.wait_for_message(user, message_id))
        assert named(found, "Delivered-To") == [rcpt]
        assert rest == content
