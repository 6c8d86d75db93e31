"""End to end with a real Postfix behind mailgate: smtplib -> mailgate -> Postfix -> Maildir.

The Postfix is a private instance (postfix_instance.py) on a free loopback port, delivering the
virtual domain example.test into Maildirs; the system's own Postfix is never used.
"""

import re
import smtplib
import uuid

import pytest

from mailgate_process import HOSTNAME, smtp_backend
from postfix_instance import HOSTNAME as POSTFIX_HOSTNAME
from postfix_instance import running_postfix
from smtp_client import smtp

SENDER = "sender@remote.example"
IDEAL = "ideal@example.test"
OTHER = "other@example.test"
UNKNOWN = "nobody-here@example.test"
HELO_TO_BACKEND = "mailgate.test.example"


@pytest.fixture(scope="module")
def postfix():
    """A running private Postfix for the tests of this module."""
    yield from running_postfix()


@pytest.fixture
def gateway(start_gateway, postfix):
    """mailgate relaying to the private Postfix (relay_access: example.test is local)."""
    return start_gateway(backend=smtp_backend(postfix.port, helo_name=HELO_TO_BACKEND))


def message(subject: str, to: str = IDEAL, body: bytes = b"") -> tuple[bytes, bytes]:
    """A complete message (CRLF) with a unique Message-ID; returns (content, message_id)."""
    message_id = f"<{uuid.uuid4().hex}@remote.example>".encode()
    content = (
        b"From: Sender <" + SENDER.encode() + b">\r\n"
        b"To: <" + to.encode() + b">\r\n"
        b"Subject: " + subject.encode() + b"\r\n"
        b"Date: Mon, 02 Feb 2026 10:00:00 +0000\r\n"
        b"Message-ID: " + message_id + b"\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        + (body or f"body of {subject}\r\n".encode())
    )
    return content, message_id


def fields(stored: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """The leading header fields of a delivered file (Maildir: LF line ends) as (name, value)
    with continuation lines kept, up to the first field of the original content (From:), and
    the rest of the file with CRLF line ends."""
    lines = stored.split(b"\n")
    found, index = [], 0
    while index < len(lines) and not lines[index].startswith(b"From:"):
        name, _, value = lines[index].decode("utf-8").partition(":")
        index += 1
        while index < len(lines) and lines[index][:1] in (b" ", b"\t"):
            value += "\n" + lines[index].decode("utf-8")
            index += 1
        found.append((name, value.strip()))
    return found, b"\r\n".join(lines[index:])


def named(found: list[tuple[str, str]], name: str) -> list[str]:
    return [value for field, value in found if field.lower() == name.lower()]


BODY = (
    b".leading dot\r\n"
    b"..two leading dots\r\n"
    b".\r\n"
    b" .space then dot\r\n"
    + "8-bit: Grüße, naïve café, 日本語\r\n".encode("utf-8")
    + b"last line\r\n"
)


def test_message_lands_in_postfix_maildir(gateway, postfix):
    """Headers, body bytes and envelope survive mailgate and Postfix into ideal's Maildir."""
    content, message_id = message("through postfix", body=BODY)
    with smtp(gateway.port) as client:
        refused = client.sendmail(SENDER, [IDEAL], content, mail_options=["BODY=8BITMIME"])
    assert refused == {}

    stored = postfix.wait_for_message("ideal", message_id)
    found, rest = fields(stored)
    # Postfix's envelope lines, then its Received, then ours, then the content unchanged.
    assert [name for name, _ in found] == [
        "Return-Path", "X-Original-To", "Delivered-To", "Received", "Received"], found
    assert named(found, "Return-Path") == [f"<{SENDER}>"]
    assert named(found, "Delivered-To") == [IDEAL]
    assert named(found, "X-Original-To") == [IDEAL]
    postfix_received, mailgate_received = named(found, "Received")
    assert re.match(
        rf"from {re.escape(HELO_TO_BACKEND)} \(unknown \[127\.0\.0\.1\]\)\n"
        rf"\tby {re.escape(POSTFIX_HOSTNAME)} \(Postfix\) with E?SMTP id \w+\n"
        rf"\tfor <{re.escape(IDEAL)}>; ", postfix_received), postfix_received
    assert re.match(
        r"from client\.example \(\[127\.0\.0\.1\]\)\n"
        rf"\tby {re.escape(HOSTNAME)} \(mailgate\) with E?SMTP id \S+\n"
        rf"\tfor <{re.escape(IDEAL)}>; ", mailgate_received), mailgate_received
    assert f"by {HOSTNAME} (mailgate)" in mailgate_received
    assert rest == content  # the Subject and every body byte, dots and 8 bits included
    assert b"\r\nSubject: through postfix\r\n" in rest
    assert rest.endswith(BODY)
    assert postfix.maildir_files("other") == []


def test_unknown_recipient_refused_by_postfix_at_rcpt(gateway, postfix):
    """Postfix's own 550 5.1.1 for an unknown user reaches the client at RCPT; the known
    recipient of the same message gets it."""
    content, message_id = message("one unknown")
    with smtp(gateway.port) as client:
        refused = client.sendmail(SENDER, [UNKNOWN, IDEAL], content)
    assert list(refused) == [UNKNOWN], refused
    code, text = refused[UNKNOWN]
    assert code == 550, refused
    assert text.startswith(b"5.1.1 "), refused
    assert b"User unknown in virtual mailbox table" in text, refused  # Postfix's words

    stored = postfix.wait_for_message("ideal", message_id)
    found, rest = fields(stored)
    assert named(found, "Delivered-To") == [IDEAL]
    assert rest == content
    assert f"reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 <{UNKNOWN}>" in postfix.maillog_text()


def test_low_level_rcpt_replies_pass_through(gateway, postfix):
    """The same, command by command: 250 for the known, 550 5.1.1 for the unknown, then DATA."""
    content, message_id = message("command by command", to=OTHER)
    with smtp(gateway.port) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt(OTHER)[0] == 250
        code, text = client.rcpt(UNKNOWN)
        assert (code, text[:6]) == (550, b"5.1.1 "), text
        code, text = client.data(content)
        assert code == 250, text
    # The client's 250 is Postfix's own answer, naming Postfix's queue id. Postfix offers
    # CHUNKING, so mailgate sent BDAT, and Postfix's answer to BDAT LAST counts the bytes.
    queue_id = re.fullmatch(rb"2\.0\.0 Ok: \d+ bytes queued as (\w+)", text)
    assert queue_id, text
    stored = postfix.wait_for_message("other", message_id)
    found, rest = fields(stored)
    assert named(found, "Delivered-To") == [OTHER]
    assert f" id {queue_id.group(1).decode()}\n" in named(found, "Received")[0]
    assert rest == content


def test_three_messages_on_one_connection(gateway, postfix):
    """Three messages on one client connection all reach Postfix, over one backend connection."""
    connects_before = postfix.maillog_text().count(" connect from ")
    sent = []
    with smtp(gateway.port) as client:
        for number, rcpts in enumerate([[IDEAL], [OTHER], [IDEAL, OTHER]], start=1):
            content, message_id = message(f"message {number} of 3", to=rcpts[0])
            assert client.sendmail(SENDER, rcpts, content) == {}
            sent.append((rcpts, content, message_id))
    for rcpts, content, message_id in sent:
        for rcpt in rcpts:
            stored = postfix.wait_for_message(rcpt.split("@")[0], message_id)
            found, rest = fields(stored)
            assert named(found, "Delivered-To") == [rcpt]
            assert rest == content
    connects = postfix.maillog_text().count(" connect from ") - connects_before
    assert connects == 1, f"{connects} backend connections for 3 messages\n{postfix.log_text()}"


def test_postfix_refuses_relaying_elsewhere(postfix):
    """The instance itself accepts only example.test (so nothing can leave this machine)."""
    with smtplib.SMTP("127.0.0.1", postfix.port, local_hostname="client.example",
                      timeout=10) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        code, text = client.rcpt("someone@elsewhere.example")
        assert code == 554 and b"Relay access denied" in text, (code, text)
