"""The rewrite plugin through the real binary: the envelope and header bytes the recording
backend receives, located config errors, `mailgate test` output and the shipped example."""

import re
import subprocess

from mailgate_process import relay_access_entry, run_mailgate, to_yaml
from smtp_client import RawClient, open_session, send_message
from smtp_text import header_block, split_received

SENDER = "alice@old.example"
RCPT = "bob@example.test"
CONTENT = (b"From: Alice <alice@old.example>\r\n"
           b"To: bob@example.test, \"Carol\" <carol@example.test>\r\n"
           b"Cc: dave@legacy.example.test\r\n"
           b"Subject: hello\r\n"
           b"X-Internal: secret one\r\n"
           b"Received: from inner.example\r\n"
           b"X-Internal: secret two\r\n"
           b"\r\nbody line\r\n.leading dot\r\n")


def rewrite_entry(build, **config):
    return {"name": "rewrite", "path": str(build.plugin("rewrite")), "config": config}


def relay(build):
    return relay_access_entry(build, local_domains=["example.test", ".example.test"])


def deliver(gw, rcpts=(RCPT,), sender=SENDER, content=CONTENT, client=None):
    with (client or RawClient(gw.port)) as conn:
        open_session(conn)
        reply = send_message(conn, sender, list(rcpts), content)
        assert conn.command("QUIT").code == 221
    return reply


def delivered(gw, backend, **kwargs):
    assert deliver(gw, **kwargs).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    return tx, split_received(tx.data)[1]


def test_sender_exact_address(start_gateway, build, backend):
    """An exact sender entry: the backend's MAIL FROM is the new address."""
    gw = start_gateway(plugins=[relay(build), rewrite_entry(
        build, sender_map=[{"match": "Alice@Old.Example", "to": "alice@new.example"}])])
    tx, message = delivered(gw, backend)
    assert tx.sender == "alice@new.example"
    assert tx.rcpts == [RCPT]
    assert message == CONTENT  # headers untouched without address_headers
    assert ("plugin rewrite: edit change_sender <alice@old.example> to <alice@new.example>"
            in gw.log_text())


def test_sender_domain_and_from_header(start_gateway, build, backend):
    """A domain entry keeps the local part; with address_headers the From field follows."""
    gw = start_gateway(plugins=[relay(build), rewrite_entry(
        build, sender_map=[{"match": "@old.example", "to": "@new.example"}],
        address_headers=["From"])])
    tx, message = delivered(gw, backend)
    assert tx.sender == "alice@new.example"
    assert message.startswith(b"From: Alice <alice@new.example>\r\nTo: bob@example.test, ")


def test_sender_regex_with_captures(start_gateway, build, backend):
    """A regex sender entry: captures build the new MAIL FROM; the exact entry for another
    address is not used; Reply-To follows the sender map."""
    gw = start_gateway(plugins=[relay(build), rewrite_entry(
        build, sender_map=[{"regex": r"^([^@+]+)\+[^@]*@(.+)$", "to": r"\1@\2"},
                           {"match": "other@old.example", "to": "x@new.example"}],
        address_headers=["Reply-To"])])
    content = b"Reply-To: <alice+list@old.example>\r\n" + CONTENT
    tx, message = delivered(gw, backend, sender="alice+list@old.example", content=content)
    assert tx.sender == "alice@old.example"
    assert message.startswith(b"Reply-To: <alice@old.example>\r\nFrom: Alice <alice@old.example>")


def test_recipient_regex_with_captures(start_gateway, build, backend):
    """A regex recipient entry with captures: the backend gets RCPT for the new addresses, the
    unmapped recipient first, and To/Cc carry the new addresses with their display names."""
    gw = start_gateway(plugins=[relay(build), rewrite_entry(
        build,
        recipient_map=[{"regex": r"^([^@]+)@(legacy\.)?example\.test$",
                        "to": r"\1@mail.example.test",
                        "when": {"recipient_domain": ["example.test", ".example.test"]}},
                       {"match": "keep@example.test", "to": "keep@example.test"}],
        address_headers=["To", "Cc"])])
    tx, message = delivered(gw, backend, rcpts=(RCPT, "keep@example.test",
                                                "dave@legacy.example.test"))
    assert tx.rcpts == ["keep@example.test", "bob@mail.example.test", "dave@mail.example.test"]
    assert header_block(message).startswith(
        b"From: Alice <alice@old.example>\r\n"
        b"To: bob@mail.example.test, \"Carol\" <carol@mail.example.test>\r\n"
        b"Cc: dave@mail.example.test\r\n")


def test_recipients_merged(start_gateway, build, backend):
    """Two recipients mapped to one address reach the backend once."""
    gw = start_gateway(plugins=[relay(build), rewrite_entry(
        build, recipient_map=[{"match": "@legacy.example.test", "to": "all@example.test"}])])
    tx, _ = delivered(gw, backend, rcpts=("a@legacy.example.test", "b@legacy.example.test"))
    assert tx.rcpts == ["all@example.test"]


def test_refused_rewrite_keeps_the_recipient(start_gateway, build, backend):
    """A result the host refuses (non-ASCII in a transaction without SMTPUTF8): the recipient
    still gets the message as addressed, and a warning names it."""
    gw = start_gateway(plugins=[relay(build), rewrite_entry(
        build, recipient_map=[{"regex": "^(.*)@example\\.test$",
                               "to": "\\1@b\u00fccher.example"}])])
    tx, _ = delivered(gw, backend)
    assert tx.rcpts == [RCPT]
    assert "recipient <bob@example.test> not rewritten" in gw.log_text()


def test_header_rules(start_gateway, build, backend):
    """add (bottom and top), remove all, remove the nth, replace by regex, prefix the subject."""
    gw = start_gateway(plugins=[relay(build), rewrite_entry(build, header_rules=[
        {"add": "X-Gateway", "value": "mailgate"},
        {"add": "X-Top", "value": "first", "at": "top"},
        {"remove": "X-Internal"},
        {"remove": "Received", "nth": 1},
        {"replace": "To", "regex": r"\"(\w+)\"", "with": r"'\1'"},
        {"prefix_subject": "[EXT] "},
    ])])
    _, message = delivered(gw, backend)
    assert message == (b"X-Top: first\r\n"
                       b"From: Alice <alice@old.example>\r\n"
                       b"To: bob@example.test, 'Carol' <carol@example.test>\r\n"
                       b"Cc: dave@legacy.example.test\r\n"
                       b"Subject: [EXT] hello\r\n"
                       b"X-Gateway: mailgate\r\n"
                       b"\r\nbody line\r\n.leading dot\r\n")


def test_conditions(start_gateway, build, backend):
    """Rules apply only where their sender domain, recipient domain and client network hold."""
    gw = start_gateway(plugins=[relay(build), rewrite_entry(build, header_rules=[
        {"add": "X-Loopback", "value": "yes", "when": {"client_network": "127.0.0.0/8"}},
        {"add": "X-Elsewhere", "value": "yes", "when": {"client_network": ["10.0.0.0/8", "::1"]}},
        {"add": "X-From-Old", "value": "yes", "when": {"sender_domain": "old.example"}},
        {"add": "X-From-New", "value": "yes", "when": {"sender_domain": "new.example"}},
        {"add": "X-To-Test", "value": "yes", "when": {"recipient_domain": "example.test",
                                                      "sender_domain": ".example"}},
        {"add": "X-To-Sub", "value": "yes", "when": {"recipient_domain": ".example.test"}},
    ])])
    _, message = delivered(gw, backend)
    head = header_block(message)
    # old.example is a subdomain of "example" and example.test is the recipient's domain.
    assert b"X-Loopback: yes" in head and b"X-From-Old: yes" in head and b"X-To-Test: yes" in head
    assert b"X-Elsewhere" not in head and b"X-From-New" not in head and b"X-To-Sub" not in head


def test_empty_config_changes_nothing(start_gateway, build, backend):
    gw = start_gateway(plugins=[relay(build), rewrite_entry(build)])
    tx, message = delivered(gw, backend)
    assert tx.sender == SENDER and tx.rcpts == [RCPT] and message == CONTENT


BAD_CONFIG = """\
backend: {type: maildir, path: MAILDIR}
plugins:
  - name: rewrite
    path: PLUGIN
    config:
      sender_map:
        - regex: '(unclosed'
          to: 'x@example.test'
        - match: a@example.test
          to: '\\\\2@example.test'
      header_rules:
        - remove: X-A
          when: {client_network: [10.0.0.0/8, 10.0.0.0/99]}
        - add: X-B
          bogus: 1
"""


def test_config_errors_are_located(build, mailgate_binary, tmp_path):
    """A bad regex, a bad network and an unknown key: each FILE:LINE:COL at the mistake."""
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG.replace("MAILDIR", str(tmp_path / "md"))
                    .replace("PLUGIN", str(build.plugin("rewrite"))))
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1, result.stdout + result.stderr
    located = re.findall(rf"^{re.escape(str(path))}:(\d+):(\d+): (.*)$", result.stderr, re.M)
    by_line = {int(line): message for line, _, message in located}
    assert "sender_map[0].regex" in by_line[7] and "invalid regex" in by_line[7], located
    assert "sender_map[1].to" in by_line[10] and "not an address" in by_line[10], located
    assert "client_network[1]" in by_line[13] and "0 to 32" in by_line[13], located
    assert "header_rules[1]" in by_line[14] and "needs value" in by_line[14], located
    assert "header_rules[1].bogus" in by_line[15] and "unknown key" in by_line[15], located


def test_policy_test_shows_the_edits(build, mailgate_binary, tmp_path):
    """`mailgate test` lists each rewrite edit at end_of_message and the rewritten result."""
    config = tmp_path / "rewrite.yaml"
    config.write_text(to_yaml({
        "backend": {"type": "maildir", "path": str(tmp_path / "unused")},
        "plugins": [relay(build), rewrite_entry(
            build, sender_map=[{"match": "@old.example", "to": "@new.example"}],
            recipient_map=[{"match": "bob@example.test", "to": "robert@example.test"}],
            address_headers=["From"],
            header_rules=[{"remove": "X-Internal"}, {"prefix_subject": "[EXT] "}])],
    }))
    message = tmp_path / "m.eml"
    message.write_bytes(CONTENT)
    result = run_mailgate(build, ["test", "--config", str(config), "--from", SENDER,
                                  "--rcpt", RCPT, str(message)])
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    edits = out.split("stage end_of_message\n", 1)[1].split("result:", 1)[0]
    assert edits.splitlines() == [
        "  plugin rewrite: edit change_sender <alice@old.example> to <alice@new.example>",
        "  plugin rewrite: edit add_rcpt <robert@example.test>",
        "  plugin rewrite: edit delete_rcpt <bob@example.test>",
        "  plugin rewrite: edit change_header From #1",
        "  plugin rewrite: edit delete_header X-Internal #1",
        "  plugin rewrite: edit delete_header X-Internal #1",
        "  plugin rewrite: edit change_header Subject #1",
        "  rewrite: continue",
        "  (no plugin decided)",
    ], edits
    assert ("result: accepted for delivery from <alice@new.example> to <robert@example.test>"
            in out)
    backend_view = out.split("--- message as the backend would receive it ---\n", 1)[1]
    assert "From: Alice <alice@new.example>\nTo:" in backend_view
    assert "Subject: [EXT] hello\nReceived: from inner.example\n\nbody line" in backend_view


def test_example_config_passes_check(build, mailgate_binary, tmp_path):
    """config/rewrite.example.yaml is a valid config that loads the plugin."""
    example = build.source_dir / "config" / "rewrite.example.yaml"
    result = run_mailgate(build, ["--check-config", str(example)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok (2 plugins loaded)" in result.stdout, result.stdout


def test_unit_tests_pass(build):
    """The plugin's GoogleTest binary. CTest does not see plugins/*/tests (the root
    CMakeLists.txt enables testing after add_subdirectory(plugins)), so it runs from here."""
    binary = build.build_dir / "bin" / "rewrite_tests"
    assert binary.is_file(), f"{binary} not built"
    result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "[  PASSED  ]" in result.stdout
