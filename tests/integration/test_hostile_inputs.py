"""Hostile clients, black-box: smuggling, pipelining abuse, junk commands, relay tricks, slowloris,
floods and broken connections. Whatever the client does, DESIGN.md's guarantees hold: no open
relay, a client 250 means exactly one well-formed message at the backend (and a refusal means
none), only CRLF.CRLF ends DATA, memory and time stay bounded, errors carry enhanced codes.
mailgate's exit status 0 at SIGTERM (checked by the fixtures) shows it survived all of it.
"""

import os
import random
import re
import signal
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from smtp_client import ConnectionClosed, RawClient, Reply, open_session, send_message
from smtp_text import dot_stuff, wire_problems

RCPT = "user@example.test"
MAX_RECIPIENTS = 100  # the default limit
RECEIVED = re.compile(rb"\AReceived: .*?[+-]\d{4}\r\n", re.S)


@pytest.fixture(scope="module")
def gw(module_start_gateway):
    return module_start_gateway()


@pytest.fixture(scope="module")
def normalizing_gw(module_start_gateway):
    return module_start_gateway(limits={"bare_line_endings": "normalize"})


@pytest.fixture(scope="module")
def impatient_gw(module_start_gateway):
    return module_start_gateway(limits={"command_timeout": "2s", "data_timeout": "3s"})


# --- helpers -----------------------------------------------------------------------------------

def unique(name: str) -> str:
    """A sender address no other test uses, to find this test's traffic at a shared backend."""
    return f"{name}-{time.monotonic_ns()}@remote.example"


def extra_replies(client: RawClient) -> list[Reply]:
    """Sends HELP and returns every reply that came before its 214: replies nobody asked for."""
    client.send(b"HELP\r\n")
    extras = []
    for _ in range(100):
        reply = client.read_reply()
        if reply.code == 214:
            return extras
        extras.append(reply)
    raise AssertionError(f"no 214 after HELP; got {[str(r) for r in extras]}")


def open_transaction(client: RawClient, sender: str, rcpts=(RCPT,)) -> None:
    open_session(client)
    assert client.command(f"MAIL FROM:<{sender}>").code == 250
    for rcpt in rcpts:
        assert client.command(f"RCPT TO:<{rcpt}>").code == 250
    assert client.command("DATA").code == 354


def transactions_from(backend, sender: str):
    return [tx for tx in backend.transactions if tx.sender == sender]


def commands_mentioning(backend, text: str) -> list[str]:
    return [line for line in backend.commands() if text.lower() in line.lower()]


def content_of(tx) -> bytes:
    """What the client sent: the delivered message without mailgate's Received header."""
    match = RECEIVED.match(tx.data)
    assert match, tx.data[:200]
    return tx.data[match.end():]


def assert_enhanced(reply: Reply) -> None:
    assert reply.enhanced[:1] == str(reply.code)[0], f"no enhanced code of its class: {reply}"


def open_files_in(pid: int, directory: Path) -> list[str]:
    """The files under `directory` that process `pid` holds open (unlinked ones included)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(directory)):
            found.append(target)
    return found


def quiet_socket(client: RawClient) -> None:
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# --- smuggling ---------------------------------------------------------------------------------

# Fake ends of DATA: each holds a bare CR, a bare LF or a NUL, and none is CRLF "." CRLF.
FAKE_ENDS = {
    "lf-dot-lf": b"\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "cr-dot-cr": b"\r.\r",
    "crlf-dot-cr": b"\r\n.\r",
    "crlf-dot-lf": b"\r\n.\n",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-nul-crlf": b"\r\n.\x00\r\n",
    "crlf-nul-dot-crlf": b"\r\n\x00.\r\n",
    "crlf-dot-cr-crlf": b"\r\n.\r\r\n",
    "crlf-cr-dot-crlf": b"\r\n\r.\r\n",
    "crlf-dotdot-lf": b"\r\n..\n",
    "lf-dotdot-lf": b"\n..\n",
    "crlf-dot-lf-cr": b"\r\n.\n\r",
    "lf-cr-dot-lf-cr": b"\n\r.\n\r",
}


def smuggling_payload(fake_end: bytes, evil: str) -> bytes:
    """A message whose fake end is followed by a whole second transaction, then the real end."""
    return (b"Subject: smuggling\r\n\r\nbody" + fake_end +
            f"MAIL FROM:<{evil}>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n".encode() +
            b"Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")


@pytest.mark.parametrize("fake_end", FAKE_ENDS.values(), ids=FAKE_ENDS.keys())
def test_fake_end_of_data_is_refused_whole(gw, module_backend, fake_end):
    """One 5xx for the whole message; the hidden transaction never runs, here or at the backend."""
    sender, evil = unique("smuggler"), unique("evil")
    with RawClient(gw.port) as client:
        open_transaction(client, sender)
        client.send(smuggling_payload(fake_end, evil))
        reply = client.read_reply()
        assert reply.code // 100 == 5, str(reply)
        assert_enhanced(reply)
        assert extra_replies(client) == []
    time.sleep(0.2)
    assert commands_mentioning(module_backend, evil) == []
    assert transactions_from(module_backend, sender) == []


@pytest.mark.parametrize("fake_end", FAKE_ENDS.values(), ids=FAKE_ENDS.keys())
def test_fake_end_of_data_normalized(normalizing_gw, module_backend, fake_end):
    """With bare_line_endings: normalize, a fake end is message text: at most one well-formed
    message, and the hidden transaction is never a transaction."""
    sender, evil = unique("normalized"), unique("evil")
    with RawClient(normalizing_gw.port) as client:
        open_transaction(client, sender)
        client.send(smuggling_payload(fake_end, evil))
        reply = client.read_reply()
        assert extra_replies(client) == []
    assert_enhanced(reply)
    time.sleep(0.2)
    assert not any(line.upper().startswith("MAIL") and evil in line
                   for line in module_backend.commands())
    delivered = transactions_from(module_backend, sender)
    assert len(delivered) == (1 if reply.code == 250 else 0), str(reply)
    for tx in delivered:
        assert wire_problems(tx.data_raw, max_line=1001) == []
        assert b"smuggled body" in tx.data


SPLIT_ENDS = ["lf-dot-lf", "crlf-dot-lf", "cr-dot-crlf", "crlf-dot-nul-crlf", "crlf-cr-dot-crlf"]


def test_fake_end_split_across_segments(gw, module_backend):
    """The fake end cut into two TCP segments at every offset behaves as when sent whole."""
    sender, evil = unique("split"), unique("evil")
    with RawClient(gw.port) as client:
        quiet_socket(client)
        open_session(client)
        for name in SPLIT_ENDS:
            payload = smuggling_payload(FAKE_ENDS[name], evil)
            start = payload.index(b"body") + 3
            for offset in range(start, start + len(FAKE_ENDS[name]) + 3):
                assert client.command(f"MAIL FROM:<{sender}>").code == 250
                assert client.command(f"RCPT TO:<{RCPT}>").code == 250
                assert client.command("DATA").code == 354
                client.send(payload[:offset])
                time.sleep(0.01)
                client.send(payload[offset:])
                reply = client.read_reply()
                assert reply.code // 100 == 5, f"{name} cut at {offset}: {reply}"
                assert extra_replies(client) == [], f"{name} cut at {offset}"
    time.sleep(0.2)
    assert commands_mentioning(module_backend, evil) == []
    assert transactions_from(module_backend, sender) == []


def test_real_end_split_across_segments(gw, module_backend):
    """CRLF.CRLF cut at every offset still ends DATA exactly once, with the exact content."""
    sender = unique("real-split")
    content = b"Subject: split\r\n\r\n.leading dot\r\n..two dots\r\nlast"
    payload = dot_stuff(content + b"\r\n") + b".\r\n"
    with RawClient(gw.port) as client:
        quiet_socket(client)
        open_session(client)
        offsets = range(len(payload) - 8, len(payload))
        for offset in offsets:
            assert client.command(f"MAIL FROM:<{sender}>").code == 250
            assert client.command(f"RCPT TO:<{RCPT}>").code == 250
            assert client.command("DATA").code == 354
            client.send(payload[:offset])
            time.sleep(0.01)
            client.send(payload[offset:])
            assert client.read_reply().code == 250
            assert extra_replies(client) == []
    delivered = module_backend.wait_for_transactions(len(offsets))
    delivered = [tx for tx in delivered if tx.sender == sender]
    assert len(delivered) == len(offsets)
    assert all(content_of(tx) == content + b"\r\n" for tx in delivered)


def test_byte_at_a_time(gw, module_backend):
    """A whole session one byte per segment: the same replies and the same exact message."""
    sender = unique("trickle")
    content = b"Subject: trickle\r\n\r\n.dot\r\n\xc3\xa4 8-bit\r\nend\r\n"
    script = (f"MAIL FROM:<{sender}>\r\nRCPT TO:<{RCPT}>\r\nDATA\r\n".encode() +
              dot_stuff(content) + b".\r\n")
    with RawClient(gw.port) as client:
        quiet_socket(client)
        open_session(client)
        for byte in script:
            client.send(bytes([byte]))
            time.sleep(0.001)
        codes = [client.read_reply().code for _ in range(4)]
        assert codes == [250, 250, 354, 250]
        assert extra_replies(client) == []
    time.sleep(0.2)
    (tx,) = transactions_from(module_backend, sender)
    assert content_of(tx) == content


# --- pipelining abuse --------------------------------------------------------------------------

def test_whole_session_in_one_write(gw, module_backend):
    """MAIL/RCPT/DATA/message/QUIT in one write, junk after QUIT: one message, nothing after."""
    sender, late = unique("pipelined"), unique("after-quit")
    with RawClient(gw.port) as client:
        open_session(client)
        client.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{RCPT}>\r\nDATA\r\n".encode() +
                    b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n" +
                    f"MAIL FROM:<{late}>\r\nRCPT TO:<{RCPT}>\r\nNOOP\r\n".encode())
        codes = [client.read_reply().code for _ in range(5)]
        assert codes == [250, 250, 354, 250, 221]
        assert client.wait_closed(3.0)
    time.sleep(0.2)
    assert len(transactions_from(module_backend, sender)) == 1
    assert commands_mentioning(module_backend, late) == []


def test_two_transactions_in_one_write(gw, module_backend):
    """Two complete transactions pipelined in one write give two messages, each its own text."""
    sender = unique("double")
    script = b"".join(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{RCPT}>\r\nDATA\r\n".encode() +
                      f"Subject: n{n}\r\n\r\nmessage {n}\r\n.\r\n".encode() for n in range(2))
    with RawClient(gw.port) as client:
        open_session(client)
        client.send(script + b"QUIT\r\n")
        codes = [client.read_reply().code for _ in range(9)]
    assert codes == [250, 250, 354, 250] * 2 + [221]
    time.sleep(0.2)
    delivered = transactions_from(module_backend, sender)
    assert [content_of(tx) for tx in delivered] == [
        f"Subject: n{n}\r\n\r\nmessage {n}\r\n".encode() for n in range(2)]


def test_data_refused_then_pipelined_text_is_not_a_message(gw, module_backend):
    """DATA with no accepted recipient gets 554 5.5.1; text pipelined after it is only commands."""
    sender = unique("no-rcpt")
    with RawClient(gw.port) as client:
        open_session(client)
        client.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<victim@foreign.example>\r\nDATA\r\n"
                    "Subject: x\r\nhello\r\n.\r\n".encode())
        replies = [client.read_reply() for _ in range(6)]
        assert [r.code for r in replies[:3]] == [250, 550, 554]
        assert (replies[1].enhanced, replies[2].enhanced) == ("5.7.1", "5.5.1")
        assert all(r.code // 100 == 5 for r in replies[3:])
        for reply in replies:
            assert_enhanced(reply)
    time.sleep(0.2)
    assert transactions_from(module_backend, sender) == []
    assert commands_mentioning(module_backend, "victim@foreign.example") == []


# --- over-long lines and floods ----------------------------------------------------------------

def test_ten_megabytes_without_newline_in_a_command(gw):
    """10 MB with no LF: one 500 5.5.2 when the line ends, then service goes on."""
    with RawClient(gw.port, timeout=20) as client:
        open_session(client)
        chunk = b"A" * 65536
        for _ in range(160):
            client.send(chunk)
        client.send(b"\r\nNOOP\r\n")
        first, second = client.read_reply(), client.read_reply()
    assert (first.code, first.enhanced, second.code) == (500, "5.5.2", 250), (first, second)


def test_ten_megabytes_without_newline_in_data(gw, module_backend):
    """10 MB of one DATA line: 554 5.6.0 at the end, nothing forwarded."""
    sender = unique("one-line")
    with RawClient(gw.port, timeout=20) as client:
        open_transaction(client, sender)
        chunk = b"B" * 65536
        for _ in range(160):
            client.send(chunk)
        client.send(b"\r\n.\r\n")
        reply = client.read_reply()
    assert (reply.code, reply.enhanced) == (554, "5.6.0"), str(reply)
    time.sleep(0.2)
    assert transactions_from(module_backend, sender) == []


def test_overlong_line_tail_is_not_a_command(gw, module_backend):
    """The rest of an over-long line is dropped up to its LF, never read as a new command."""
    evil = unique("tail")
    with RawClient(gw.port) as client:
        open_session(client)
        client.send(b"NOOP " + b"x" * 507 + f"MAIL FROM:<{evil}>\r\nRSET\r\n".encode())
        first, second = client.read_reply(), client.read_reply()
        assert (first.code, first.enhanced, second.code) == (500, "5.5.2", 250)
        assert extra_replies(client) == []
    assert commands_mentioning(module_backend, evil) == []


# --- junk in commands --------------------------------------------------------------------------

JUNK_COMMANDS = {
    "nul-in-verb": b"NO\x00OP\r\n",
    "nul-in-mail": b"MAIL FROM:<a\x00b@remote.example>\r\n",
    "8bit-noop": b"NOOP \xff\xfe\r\n",
    "bare-cr-inside": b"NOOP\rRSET\r\n",
    "lone-lf": b"NOOP\n",
    "tab-separator": b"MAIL\tFROM:<a@remote.example>\r\n",
    "leading-space": b" NOOP\r\n",
    "empty-line": b"\r\n",
    "cr-cr-lf": b"NOOP\r\r\n",
    "verb-only-garbage": b"\x01\x02\x03\r\n",
    "ehlo-without-name": b"EHLO\r\n",
    "mail-source-route-only": b"MAIL FROM:<@remote.example:>\r\n",
    "rcpt-null": b"RCPT TO:<>\r\n",
}


@pytest.mark.parametrize("line", JUNK_COMMANDS.values(), ids=JUNK_COMMANDS.keys())
def test_junk_command_gets_one_clear_error(gw, line):
    """One 5xx with an enhanced code per junk line, nothing more; the session carries on."""
    with RawClient(gw.port) as client:
        open_session(client)
        client.send(line)
        reply = client.read_reply()
        assert reply.code // 100 == 5, str(reply)
        assert_enhanced(reply)
        assert extra_replies(client) == []
        assert client.command("NOOP").code == 250


def test_verbs_in_any_case_and_trailing_spaces(gw, module_backend):
    """Lower/mixed-case verbs, a space after the colon and trailing spaces are fine."""
    sender = unique("casual")
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"mail from: <{sender}>   ").code == 250
        assert client.command(f"rCpT tO:<{RCPT}>  ").code == 250
        assert client.command("data").code == 354
        client.send(b"Subject: case\r\n\r\nhi\r\n.\r\n")
        assert client.read_reply().code == 250
    time.sleep(0.2)
    assert len(transactions_from(module_backend, sender)) == 1


# --- addresses and relay tricks ----------------------------------------------------------------

RELAY_TRICKS = [
    "victim@foreign.example",
    "victim%foreign.example@example.test",
    "foreign.example!victim@example.test",
    '"victim@foreign.example"@example.test',
    '"victim%foreign.example"@example.test',
    "@example.test:victim@foreign.example",
    "@example.test,@example.test:victim@foreign.example",
    "victim@[127.0.0.1]",
    "victim@[IPv6:::1]",
    "victim@example.test.",
    "victim@foreign.example.",
    "victim@evilexample.test",
    "victim@example.test.foreign.example",
    "victim@sub.example.test",
    "root",
    "postmaster@foreign.example",
    "victim@xn--exmple-cua.test",
]


@pytest.mark.parametrize("address", RELAY_TRICKS)
def test_relay_tricks_refused(gw, module_backend, address):
    """Every trick to relay to a foreign domain is refused (5xx) and never reaches the backend."""
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{unique('relay')}>").code == 250
        reply = client.command(f"RCPT TO:<{address}>")
        assert reply.code // 100 == 5, f"{address}: {reply}"
        assert_enhanced(reply)
        assert client.command("DATA").code == 554
    time.sleep(0.1)
    assert address not in module_backend.rcpt_addresses()


def test_source_route_to_local_domain_is_stripped(gw, module_backend):
    """A source route to a local mailbox is accepted, and the route never reaches the backend."""
    sender = unique("routed")
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{sender}>").code == 250
        assert client.command(f"RCPT TO:<@foreign.example:{RCPT}>").code == 250
        assert client.command("DATA").code == 354
        client.send(b"Subject: route\r\n\r\nx\r\n.\r\n")
        assert client.read_reply().code == 250
    time.sleep(0.2)
    (tx,) = transactions_from(module_backend, sender)
    assert tx.rcpts == [RCPT]
    assert not any("foreign.example" in line for line in module_backend.commands("RCPT"))


@pytest.mark.parametrize("sender,rcpt", [
    ("", "postmaster"),
    ("", "PostMaster"),
    ("bounce@[192.0.2.1]", RCPT),
    ('"quoted local"@remote.example', '"first.last"@example.test'),
    ("a!b%c@remote.example", "User@EXAMPLE.TEST"),
], ids=["null-sender", "postmaster-mixed-case-ok", "ip-literal-sender", "quoted", "odd-sender"])
def test_unusual_but_valid_envelopes_delivered(gw, module_backend, sender, rcpt):
    """Valid but unusual envelopes are delivered once, with the envelope as given."""
    tag = unique("unusual").encode()
    with RawClient(gw.port) as client:
        open_session(client)
        reply = send_message(client, sender, [rcpt], b"Subject: " + tag + b"\r\n\r\nx\r\n")
        assert reply.code == 250, str(reply)
    time.sleep(0.2)
    delivered = [tx for tx in module_backend.transactions if tag in tx.data]
    assert len(delivered) == 1
    assert (delivered[0].sender, delivered[0].rcpts) == (sender, [rcpt])


def test_utf8_address_needs_smtputf8(gw, module_backend):
    """8-bit addresses: 553 5.6.7 without SMTPUTF8; with it, delivered with SMTPUTF8."""
    sender = unique("utf8")
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command("MAIL FROM:<jürgen@remote.example>")
        assert (reply.code, reply.enhanced) == (553, "5.6.7"), str(reply)
        assert client.command(f"MAIL FROM:<{sender}>").code == 250
        reply = client.command("RCPT TO:<jürgen@example.test>")
        assert (reply.code, reply.enhanced) == (553, "5.6.7"), str(reply)
        assert client.command("RSET").code == 250
        assert client.command(f"MAIL FROM:<{sender}> SMTPUTF8").code == 250
        assert client.command("RCPT TO:<jürgen@example.test>").code == 250
        assert client.command("RCPT TO:<victim@exämple.test>").code == 550
        assert client.command("DATA").code == 354
        client.send("Subject: ü\r\n\r\nü\r\n.\r\n".encode())
        assert client.read_reply().code == 250
    time.sleep(0.2)
    (tx,) = transactions_from(module_backend, sender)
    assert "SMTPUTF8" in tx.mail_from.upper() and tx.rcpts == ["jürgen@example.test"]


# --- MAIL parameters ---------------------------------------------------------------------------

def test_size_overflow_is_over_the_limit(gw):
    """SIZE=99999999999999999999999 is a declared size over the limit: 552 5.3.4 (issue 2)."""
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{unique('size')}> SIZE=99999999999999999999999")
    assert (reply.code, reply.enhanced) == (552, "5.3.4"), str(reply)


@pytest.mark.parametrize("params", [
    "BODY=BINARYMIME", "FOO=bar", "SIZE=12 FOO", "BODY=8BITMIME AUTH=<>", "SMTPUTF8=yes",
    "SIZE=-1", "SIZE=0x10", "SIZE=1e3",
])
def test_bad_mail_parameters_refused(gw, module_backend, params):
    """Unknown, unsupported or malformed MAIL parameters: a 5xx with an enhanced code, no MAIL
    at the backend."""
    sender = unique("params")
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{sender}> {params}")
        assert reply.code // 100 == 5, str(reply)
        assert_enhanced(reply)
    assert commands_mentioning(module_backend, sender) == []


# --- recipients and transactions ---------------------------------------------------------------

def test_thousand_recipients_pipelined(gw, module_backend):
    """1000 RCPTs in one write: exactly max_recipients accepted, the rest 452 4.5.3."""
    sender = unique("many-rcpts")
    rcpts = [f"user{n}@example.test" for n in range(1000)]
    with RawClient(gw.port, timeout=20) as client:
        open_session(client)
        client.send(f"MAIL FROM:<{sender}>\r\n".encode() +
                    b"".join(f"RCPT TO:<{r}>\r\n".encode() for r in rcpts) + b"DATA\r\n")
        assert client.read_reply().code == 250
        replies = [client.read_reply() for _ in rcpts]
        assert client.read_reply().code == 354
        client.send(b"Subject: many\r\n\r\nx\r\n.\r\n")
        assert client.read_reply().code == 250
    assert all(r.code == 250 for r in replies[:MAX_RECIPIENTS])
    assert all((r.code, r.enhanced) == (452, "4.5.3") for r in replies[MAX_RECIPIENTS:])
    time.sleep(0.3)
    (tx,) = transactions_from(module_backend, sender)
    assert tx.rcpts == rcpts[:MAX_RECIPIENTS]


def test_many_transactions_on_one_connection(gateway, backend):
    """40 messages in one session: 40 messages at the backend over one kept connection."""
    with RawClient(gateway.port) as client:
        open_session(client)
        for n in range(40):
            content = f"Subject: n{n}\r\n\r\nmessage {n}\r\n".encode()
            assert send_message(client, f"s{n}@remote.example", [RCPT], content).code == 250
    delivered = backend.wait_for_transactions(40)
    assert [content_of(tx) for tx in delivered] == [
        f"Subject: n{n}\r\n\r\nmessage {n}\r\n".encode() for n in range(40)]
    assert backend.connection_count == 1


@pytest.mark.parametrize("interruption", ["RSET", "EHLO again.example", "HELO again.example"])
def test_transaction_interrupted(gw, module_backend, interruption):
    """RSET or a second EHLO/HELO mid-transaction ends it: DATA gets 503, nothing is delivered."""
    sender = unique("interrupted")
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{sender}>").code == 250
        assert client.command(f"RCPT TO:<{RCPT}>").code == 250
        assert client.command(interruption).code == 250
        reply = client.command("DATA")
        assert (reply.code, reply.enhanced) == (503, "5.5.1"), str(reply)
        assert client.command("RCPT TO:<other@example.test>").code == 503
    time.sleep(0.2)
    assert transactions_from(module_backend, sender) == []


# --- slow, idle and vanishing clients ----------------------------------------------------------

def test_slowloris_command_line_is_cut_off(impatient_gw):
    """A command trickled one byte a second never completes: 421 4.4.2 soon after
    command_timeout (2s), not a connection held as long as the client likes."""
    with RawClient(impatient_gw.port, timeout=10) as client:
        open_session(client)
        started = time.monotonic()
        for byte in b"NOOP trickling":
            try:
                client.send(bytes([byte]))
            except OSError:
                break
            if client.has_data(1.0) or time.monotonic() - started > 7:
                break
        waited = time.monotonic() - started
        received = client.pending(0.5)
    assert received.startswith(b"421 4.4.2"), (received, waited)
    assert waited < 5, f"closed only after {waited:.1f}s"


def test_slowloris_data_is_cut_off(impatient_gw, module_backend):
    """Message text trickled slowly: 421 4.4.2 at data_timeout (3s), nothing forwarded."""
    sender = unique("slow-data")
    with RawClient(impatient_gw.port, timeout=10) as client:
        open_transaction(client, sender)
        started = time.monotonic()
        for byte in b"Subject: slow\r\n\r\n" + b"x" * 20:
            try:
                client.send(bytes([byte]))
            except OSError:
                break
            if client.has_data(0.4) or time.monotonic() - started > 8:
                break
        waited = time.monotonic() - started
        received = client.pending(0.5)
    assert received.startswith(b"421 4.4.2"), (received, waited)
    assert waited < 5
    time.sleep(0.2)
    assert transactions_from(module_backend, sender) == []


def test_idle_client_is_closed(impatient_gw):
    """A silent client gets 421 4.4.2 at command_timeout (2s) and is disconnected."""
    with RawClient(impatient_gw.port, timeout=10) as client:
        open_session(client)
        reply = client.read_reply(timeout=5)
        assert (reply.code, reply.enhanced) == (421, "4.4.2"), str(reply)
        assert client.wait_closed(2.0)


def test_half_close_mid_data_forwards_nothing(gw, module_backend):
    """shutdown(SHUT_WR) before the final dot: nothing reaches the backend as a message."""
    sender = unique("half-closed")
    with RawClient(gw.port) as client:
        open_transaction(client, sender)
        client.send(b"Subject: half\r\n\r\nnot finished\r\n")
        client.sock.shutdown(socket.SHUT_WR)
        assert client.wait_closed(3.0)
    time.sleep(0.3)
    assert transactions_from(module_backend, sender) == []


def test_half_close_after_final_dot_still_answered(gw, module_backend):
    """shutdown(SHUT_WR) right after a complete message: 250, and exactly one message."""
    sender = unique("half-closed-done")
    with RawClient(gw.port) as client:
        open_transaction(client, sender)
        client.send(b"Subject: done\r\n\r\nfinished\r\n.\r\n")
        client.sock.shutdown(socket.SHUT_WR)
        reply = client.read_reply()
    assert reply.code == 250, str(reply)
    time.sleep(0.2)
    assert len(transactions_from(module_backend, sender)) == 1


def test_reset_mid_data_forwards_nothing(gw, module_backend):
    """A TCP RST (SO_LINGER 0) mid-DATA: nothing forwarded, and the service goes on."""
    sender = unique("reset")
    client = RawClient(gw.port)
    open_transaction(client, sender)
    client.send(b"Subject: reset\r\n\r\nnot finished\r\n")
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    time.sleep(0.5)
    assert transactions_from(module_backend, sender) == []
    with RawClient(gw.port) as client:
        open_session(client)
        assert send_message(client, sender, [RCPT], b"Subject: after\r\n\r\nx\r\n").code == 250


def test_connection_churn(gw, module_backend):
    """300 connections closed at once and 300 reset at once: mailgate still serves."""
    for linger in (None, struct.pack("ii", 1, 0)):
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
            if linger:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            sock.close()
    time.sleep(0.5)
    assert gw.running()
    sender = unique("after-churn")
    with RawClient(gw.port) as client:
        open_session(client)
        assert send_message(client, sender, [RCPT], b"Subject: churn\r\n\r\nx\r\n").code == 250


def test_sighup_does_not_kill_the_gateway(start_gateway):
    """DESIGN.md: SIGHUP reloads the config "without dropping a single connection". Whether or not
    reload exists yet, a SIGHUP (logrotate scripts send one) must not kill mailgate."""
    gw = start_gateway()
    with RawClient(gw.port) as client:
        open_session(client)
        gw.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert gw.running(), f"mailgate died of SIGHUP: exit {gw.proc.returncode}"
        assert client.command("NOOP").code == 250


def test_too_many_connections_refused_with_421(start_gateway):
    """Over max_connections: 421 4.7.0 and close; a slot freed is usable again."""
    gw = start_gateway(limits={"max_connections": 5})
    clients = [RawClient(gw.port) for _ in range(5)]
    try:
        for client in clients:
            assert client.greeting().code == 220
        with RawClient(gw.port) as extra:
            reply = extra.read_reply()
            assert (reply.code, reply.enhanced) == (421, "4.7.0"), str(reply)
            assert extra.wait_closed(2.0)
    finally:
        for client in clients:
            client.close()
    time.sleep(0.3)
    with RawClient(gw.port) as client:
        assert client.greeting().code == 220


def test_two_hundred_concurrent_transactions(start_gateway, backend):
    """200 clients at once, one message each: 200 exact messages, none mixed up with another.
    (All come from 127.0.0.1, so the per-address limit is raised above 200.)"""
    gateway = start_gateway(limits={"max_connections_per_ip": 500})
    results: dict[int, object] = {}

    def one(n: int) -> None:
        try:
            with RawClient(gateway.port, timeout=20) as client:
                open_session(client)
                content = f"Subject: c{n}\r\n\r\nconcurrent {n}\r\n".encode()
                results[n] = send_message(client, f"c{n}@remote.example", [RCPT], content).code
        except (AssertionError, OSError, ConnectionClosed) as error:
            results[n] = repr(error)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert set(results.values()) == {250}, {k: v for k, v in results.items() if v != 250}
    delivered = backend.wait_for_transactions(200, timeout=10)
    assert len(delivered) == 200
    for tx in delivered:
        n = int(tx.sender[1:].split("@")[0])
        assert content_of(tx) == f"Subject: c{n}\r\n\r\nconcurrent {n}\r\n".encode()
        assert wire_problems(tx.data_raw) == []


# --- exact transparency ------------------------------------------------------------------------

def test_random_dot_stuffing_is_exact(gw, module_backend):
    """Random texts full of dots at line starts arrive byte-exact and well-formed."""
    rng = random.Random(2024)
    pieces = [b".", b"..", b"...", b"a", b" ", b"\r\n", b"\r\n", b"\r\n.", b"\xc3\xa4", b"\t",
              b"x" * 300, b"\r\n.\r\n."]
    sender = unique("dots")
    sent = []
    with RawClient(gw.port) as client:
        open_session(client)
        for _ in range(40):
            content = b"X-Start: 1\r\n" + b"".join(rng.choice(pieces) for _ in range(40))
            content = b"\r\n".join(line[:990] for line in content.split(b"\r\n"))
            if not content.endswith(b"\r\n"):
                content += b"\r\n"
            sent.append(content)
            assert send_message(client, sender, [RCPT], content).code == 250
    time.sleep(0.3)
    delivered = transactions_from(module_backend, sender)
    assert [content_of(tx) for tx in delivered] == sent
    for tx in delivered:
        assert wire_problems(tx.data_raw, max_line=1001) == []


# --- big messages (memory itself is measured in bench/, never asserted here) -------------------

def test_big_messages_spill_to_a_file(start_gateway, backend, tmp_path):
    """DESIGN.md: big messages spill to a temporary file. Four 8 MiB messages at once: while
    their data flows mailgate holds files in the spill folder; all four arrive byte-exact."""
    spill = tmp_path / "spill"
    spill.mkdir()
    gw = start_gateway(limits={"spill_threshold": "1MiB", "spill_directory": str(spill)})
    content = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 8389
    clients = []
    for n in range(4):
        client = RawClient(gw.port, timeout=30)
        clients.append(client)
        open_transaction(client, f"big{n}@remote.example")
        client.send(dot_stuff(content))
    deadline = time.monotonic() + 10
    while len(open_files_in(gw.proc.pid, spill)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    spilled = open_files_in(gw.proc.pid, spill)
    codes = []
    for client in clients:
        client.send(b".\r\n")
        codes.append(client.read_reply().code)
        client.close()
    assert len(spilled) == 4, spilled
    assert codes == [250] * 4
    delivered = backend.wait_for_transactions(4, timeout=10)
    assert all(content_of(tx) == content for tx in delivered)
    assert open_files_in(gw.proc.pid, spill) == []


def test_many_header_fields_are_delivered(start_gateway, backend):
    """A 2 MiB message of 4-byte header fields ("a:" CRLF) is handled and delivered whole."""
    gw = start_gateway()
    content = b"a:\r\n" * (512 * 1024) + b"\r\nbody\r\n"
    with RawClient(gw.port, timeout=30) as client:
        open_session(client)
        assert send_message(client, "fields@remote.example", [RCPT], content).code == 250
    assert content_of(backend.wait_for_transactions(1, timeout=10)[0]) == content
