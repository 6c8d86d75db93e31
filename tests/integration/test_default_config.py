"""The README's out-of-the-box config/mailgate.yaml, run as shipped: relay_access, then
spam_score with the default rules (tagging, refusing GTUBE), then rewrite with no rules."""

import subprocess
import time

import pytest

from mailgate_process import MailgateProcess, free_port
from smtp_client import RawClient, open_session, send_message

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
CLEAN = (b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <clean.1@localhost>\r\n"
         b"From: alice@localhost\r\nTo: bob@localhost\r\nSubject: lunch on Tuesday\r\n\r\n"
         b"Shall we meet at noon?\r\n")


@pytest.fixture
def default_gateway(build, mailgate_binary, tmp_path):
    """config/mailgate.yaml with only its port changed and its rules file made absolute (the
    README runs it from the source tree; this runs in tmp_path, where ./var/maildir lands)."""
    text = (build.source_dir / "config" / "mailgate.yaml").read_text()
    rules = build.source_dir / "config" / "rules" / "spam_score.yaml"
    assert 'listen: ["127.0.0.1:2525"]' in text and "rules_file: config/rules/" in text
    port = free_port()
    text = text.replace('listen: ["127.0.0.1:2525"]', f'listen: ["127.0.0.1:{port}"]')
    text = text.replace("rules_file: config/rules/spam_score.yaml", f"rules_file: {rules}")
    gateway = MailgateProcess(build, tmp_path, "default")
    gateway.config_path.write_text(text)
    with open(gateway.log_path, "wb") as log:
        gateway.proc = subprocess.Popen([str(build.binary), "--config", str(gateway.config_path)],
                                        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=log)
    gateway.port = port
    try:
        assert gateway.wait_for_log(f"listening on 127.0.0.1:{port}", 10), gateway.log_text()
        assert gateway.wait_for_log(" and 3 plugins", 10), gateway.log_text()
        yield gateway
    finally:
        gateway.stop()


def delivered(tmp_path, count: int, timeout: float = 5.0) -> list[bytes]:
    folder = tmp_path / "var" / "maildir" / "new"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(folder.glob("*")) if folder.is_dir() else []
        if len(files) >= count:
            return [path.read_bytes() for path in files]
        time.sleep(0.05)
    raise AssertionError(f"{count} messages expected in {folder}")


def test_clean_message_is_tagged_and_delivered(default_gateway, tmp_path):
    with RawClient(default_gateway.port) as client:
        open_session(client, "client.example")
        reply = send_message(client, "alice@localhost", ["bob@localhost"], CLEAN)
        assert reply.code == 250, str(reply)
    (message,) = delivered(tmp_path, 1)
    # A maildir file has LF line ends.
    assert b"\nX-Spam-Score: 0.00\n" in message
    assert b"\nX-Spam-Status: No, score=0.00 required=5.00 tests=none\n" in message
    assert b"X-Spam-Flag" not in message
    assert message.endswith(b"\n\nShall we meet at noon?\n")


def test_gtube_is_rejected(default_gateway, tmp_path):
    content = CLEAN.replace(b"Shall we meet at noon?", GTUBE.encode())
    with RawClient(default_gateway.port) as client:
        open_session(client, "client.example")
        reply = send_message(client, "alice@localhost", ["bob@localhost"], content)
        assert (reply.code, reply.enhanced) == (550, "5.7.1"), str(reply)
        # The session goes on: a clean message after it is delivered.
        assert send_message(client, "alice@localhost", ["bob@localhost"], CLEAN).code == 250
    assert len(delivered(tmp_path, 1)) == 1
    assert "GTUBE" in default_gateway.log_text()


def test_policy_test_shows_each_plugin(build, mailgate_binary, tmp_path):
    """`mailgate test` on the shipped config, from the source tree as the README says."""
    message = tmp_path / "message.eml"
    message.write_bytes(CLEAN.replace(b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n", b""))
    result = subprocess.run([str(build.binary), "test", "--config", "config/mailgate.yaml",
                             "--from", "alice@localhost", "--rcpt", "bob@localhost",
                             str(message)], cwd=build.source_dir, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "stage rcpt_to <bob@localhost>\n  relay_access: accept" in out, out
    assert "plugin spam_score: edit add_header X-Spam-Score" in out, out
    assert "  spam_score: continue\n  rewrite: continue\n" in out, out
    assert "symbol MISSING_DATE +1.00" in out, out
    assert "X-Spam-Status: No, score=1.00 required=5.00 tests=MISSING_DATE" in out, out
