"""The spam_score plugin through the real binary: each action by score, checked in the bytes the
recording backend receives (or the quarantine folder), MIME decoding before body rules, the
shipped default rules, and config errors located in the YAML."""

import base64
import re
from pathlib import Path

from mailgate_process import (HOSTNAME, free_port, gateway_config, relay_access_entry,
                              run_mailgate, write_config)
from smtp_client import RawClient, open_session, send_message
from smtp_text import split_received

SENDER = "sender@remote.example"
RCPT = "user@example.test"
DEFAULT_RULES = Path(__file__).resolve().parents[2] / "config" / "rules" / "spam_score.yaml"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
CLEAN = (b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@remote.example>\r\n"
         b"Subject: lunch on friday\r\n\r\nShall we meet at noon?\r\n")


def spam_entry(build, **config):
    return {"name": "spam_score", "path": str(build.plugin("spam_score")), "config": config}


def default_rules_entry(build, **config):
    return spam_entry(build, hostname=HOSTNAME, rules_file=str(DEFAULT_RULES), **config)


def deliver(gw, content, helo="client.example", timeout: float = 5.0):
    """One message through gw in a session of its own; mailgate's reply to the end of data."""
    with RawClient(gw.port, timeout=timeout) as client:
        open_session(client, helo)
        reply = send_message(client, SENDER, [RCPT], content)
        assert client.command("QUIT").code == 221
    return reply


def delivered(backend) -> bytes:
    """The one message the backend got, without mailgate's Received header."""
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    return split_received(tx.data)[1]


def test_gtube_is_rejected(start_gateway, build, backend):
    """The default rules score GTUBE 1000; reject at 20 answers the configured reply."""
    gw = start_gateway(plugins=[relay_access_entry(build), default_rules_entry(
        build, actions={"reject": {"score": 20, "code": 554, "enhanced": "5.7.1",
                                   "text": "Spam refused here"}})])
    reply = deliver(gw, b"Subject: test\r\n\r\n" + GTUBE + b"\r\n")
    assert (reply.code, reply.enhanced) == (554, "5.7.1"), str(reply)
    assert "Spam refused here" in reply.text
    assert backend.transactions == []
    assert "action=reject" in gw.log_text()


def test_clean_message_passes_with_headers(start_gateway, build, backend):
    """A clean message gets X-Spam-Score and X-Spam-Status appended, byte for byte."""
    gw = start_gateway(plugins=[relay_access_entry(build), default_rules_entry(
        build, actions={"reject": 20})])
    assert deliver(gw, CLEAN).code == 250
    assert delivered(backend) == CLEAN.replace(
        b"\r\n\r\n", b"\r\nX-Spam-Score: 0.00\r\n"
        b"X-Spam-Status: No, score=0.00 required=5.00 tests=none\r\n\r\n", 1)


def test_symbols_listed_and_flagged(start_gateway, build, backend):
    """Default rules that fire (no Date, no Message-ID, HELO is our own name, all-caps subject)
    add up past required_score: X-Spam-Flag and the symbols in X-Spam-Status."""
    gw = start_gateway(plugins=[relay_access_entry(build), default_rules_entry(build)])
    assert deliver(gw, b"Subject: CHEAP WATCHES TODAY\r\n\r\nhi\r\n", helo=HOSTNAME).code == 250
    data = delivered(backend)
    assert (b"\r\nX-Spam-Score: 6.50\r\nX-Spam-Status: Yes, score=6.50 required=5.00 "
            b"tests=MISSING_DATE,\r\n\tMISSING_MESSAGE_ID,HELO_IS_OWN_HOSTNAME,SUBJECT_ALL_CAPS\r\n"
            b"X-Spam-Flag: YES\r\n\r\nhi\r\n") in data, data


def test_client_spam_headers_are_replaced(start_gateway, build, backend):
    """A client's own X-Spam-Flag / X-Spam-Status never reach the backend."""
    gw = start_gateway(plugins=[relay_access_entry(build), spam_entry(build)])
    message = (b"X-Spam-Flag: NO\r\nSubject: hi\r\nX-Spam-Status: No, score=-100\r\n"
               b"X-Spam-Flag: NO\r\n\r\nbody\r\n")
    assert deliver(gw, message).code == 250
    assert delivered(backend) == (b"Subject: hi\r\nX-Spam-Score: 0.00\r\n"
                                  b"X-Spam-Status: No, score=0.00 required=5.00 tests=none\r\n"
                                  b"\r\nbody\r\n")


def test_subject_prefix(start_gateway, build, backend):
    gw = start_gateway(plugins=[relay_access_entry(build), spam_entry(
        build, rules=[{"name": "WORD", "type": "body", "regex": "bargain", "score": 3}],
        actions={"add_headers": False, "subject_prefix": {"score": 3, "text": "[SPAM] "}})])
    assert deliver(gw, b"Subject: weekly bargain\r\n\r\nbargain inside\r\n").code == 250
    assert delivered(backend) == b"Subject: [SPAM] weekly bargain\r\n\r\nbargain inside\r\n"


def test_base64_body_matched_after_decoding(start_gateway, build, backend):
    """A phrase only visible after base64 and charset decoding still fires."""
    gw = start_gateway(plugins=[relay_access_entry(build), spam_entry(
        build, rules=[{"name": "PRIZE", "type": "body", "regex": "gewonnen, Glückwunsch",
                       "score": 4}])])
    encoded = base64.encodebytes("Sie haben gewonnen, Glückwunsch!".encode("iso-8859-1"))
    message = (b"Subject: hallo\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/alternative; boundary=XX\r\n\r\n"
               b"--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded.replace(b"\n", b"\r\n") +
               b"--XX--\r\n")
    assert deliver(gw, message).code == 250
    data = delivered(backend)
    assert b"X-Spam-Status: No, score=4.00 required=5.00 tests=PRIZE\r\n" in data, data


def test_gtube_in_base64_is_rejected(start_gateway, build, backend):
    gw = start_gateway(plugins=[relay_access_entry(build), default_rules_entry(
        build, actions={"reject": 20})])
    message = (b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
               base64.encodebytes(GTUBE).replace(b"\n", b"\r\n"))
    reply = deliver(gw, message)
    assert (reply.code, reply.enhanced) == (550, "5.7.1"), str(reply)
    assert "Message refused as spam" in reply.text


def test_quarantine(start_gateway, build, backend, tmp_path):
    """Between the quarantine and reject thresholds the message, with its X-Spam headers, goes to
    the quarantine Maildir; the client gets 250 and the backend nothing."""
    folder = tmp_path / "quarantine"
    folder.mkdir()
    gw = start_gateway(quarantine={"path": str(folder)}, plugins=[
        relay_access_entry(build), spam_entry(
            build, rules=[{"name": "FROM_REMOTE", "type": "envelope", "field": "sender",
                           "regex": "@remote\\.example$", "score": 9}],
            actions={"quarantine": 8, "reject": 20})])
    reply = deliver(gw, b"Subject: hi\r\n\r\nbody\r\n")
    assert reply.code == 250, str(reply)
    (held,) = sorted((folder / "new").glob("*"))
    text = held.read_bytes()
    assert b"X-Spam-Flag: YES\n" in text and b"tests=FROM_REMOTE\n" in text, text
    assert backend.transactions == []
    assert "outcome=quarantined decided_by=spam_score" in gw.log_text()


def test_tempfail(start_gateway, build, backend):
    """Greylist-style: a suspicious score gets a 4xx with the configured reply."""
    gw = start_gateway(plugins=[relay_access_entry(build), spam_entry(
        build, rules=[{"name": "LOCAL_CLIENT", "type": "envelope", "field": "client_ip",
                       "networks": ["127.0.0.0/8", "::1"], "score": 6}],
        actions={"tempfail": {"score": 5, "code": 450, "enhanced": "4.7.1",
                              "text": "Greylisted, try again later"}})])
    reply = deliver(gw, CLEAN)
    assert (reply.code, reply.enhanced) == (450, "4.7.1"), str(reply)
    assert "Greylisted, try again later" in reply.text
    assert backend.transactions == []


def test_meta_and_size_rules(start_gateway, build, backend):
    gw = start_gateway(plugins=[relay_access_entry(build), spam_entry(build, rules=[
        {"name": "__SMALL", "type": "size", "max": "1KB", "score": 0},
        {"name": "__NO_DATE", "type": "header", "header": "Date", "absent": True, "score": 0},
        {"name": "SMALL_UNDATED", "type": "meta", "expression": "__SMALL && __NO_DATE",
         "score": "2.5"}])])
    assert deliver(gw, b"Subject: s\r\n\r\nshort\r\n").code == 250
    assert b"score=2.50 required=5.00 tests=SMALL_UNDATED\r\n" in delivered(backend)


def run_with(build, tmp_path, plugin_config):
    config = gateway_config(build, free_port(), plugins=[
        relay_access_entry(build), spam_entry(build, **plugin_config)])
    config_path = write_config(tmp_path / "mailgate.yaml", config)
    result = run_mailgate(build, ["--config", str(config_path)], timeout=10)
    return result, config_path


def test_bad_regex_is_a_located_config_error(build, mailgate_binary, tmp_path):
    result, config_path = run_with(build, tmp_path, {"rules": [
        {"name": "OK", "type": "body", "regex": "fine", "score": 1},
        {"name": "BAD", "type": "body", "regex": "a(b", "score": 1}]})
    assert result.returncode == 1, result.stderr
    lines = config_path.read_text().splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if '"a(b"' in line)
    assert re.search(rf"{re.escape(str(config_path))}:{bad_line}:\d+: .*rules\[1\]\.regex.*"
                     r"invalid regular expression: missing \)", result.stderr) or re.search(
        rf"{re.escape(str(config_path))}:{bad_line}:\d+: .*invalid regular expression: missing \)",
        result.stderr), result.stderr


def test_rules_file_errors_name_the_file_position(build, mailgate_binary, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: M\n    type: meta\n    expression: 'A && NOPE'\n"
                     "    score: 1\n  - {name: A, type: body, regex: x, score: 1}\n")
    result, config_path = run_with(build, tmp_path, {"rules_file": str(rules)})
    assert result.returncode == 1, result.stderr
    assert f"{rules}:2:5: rules[0].expression: unknown rule \"NOPE\"" in result.stderr, \
        result.stderr
    assert str(config_path) in result.stderr


def test_unknown_key_is_a_located_config_error(build, mailgate_binary, tmp_path):
    result, config_path = run_with(build, tmp_path, {"actions": {"rejcet": 10}})
    assert result.returncode == 1, result.stderr
    lines = config_path.read_text().splitlines()
    key_line = next(i for i, line in enumerate(lines, 1) if "rejcet" in line)
    assert re.search(rf"{re.escape(str(config_path))}:{key_line}:\d+: .*unknown key",
                     result.stderr), result.stderr


def test_hostile_mime_is_bounded(start_gateway, build, backend):
    """Thousands of nested multiparts are not parsed (mime.max_parts): the body rules see the
    raw body instead, and the message is answered at once."""
    gw = start_gateway(plugins=[relay_access_entry(build), spam_entry(
        build, rules=[{"name": "DEEP_WORD", "type": "body", "regex": "needle", "score": 1}],
        mime={"max_parts": 50})], limits={"max_message_size": 8 << 20})
    levels = 3000
    body = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                    for i in range(levels))
    body += b"--b%d\r\nContent-Type: text/plain\r\n\r\nneedle\r\n" % levels
    message = b"Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" + body
    assert deliver(gw, message).code == 250
    assert b"tests=DEEP_WORD\r\n" in delivered(backend)
