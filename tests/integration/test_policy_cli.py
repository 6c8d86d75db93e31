"""`mailgate test` runs the plugin chain on one message without network and reports each
plugin's verdict per stage, the edits and the resulting message."""

from mailgate_process import relay_access_entry, run_mailgate, to_yaml, verdict_entry

MESSAGE = b"Subject: policy\nFrom: a@remote.example\n\nhello\n.dotted\n"


def write_files(tmp_path, plugins):
    config = tmp_path / "policy.yaml"
    config.write_text(to_yaml({
        "server": {"hostname": "mx.test.example"},
        "backend": {"type": "maildir", "path": str(tmp_path / "unused")},
        "plugins": plugins,
    }), encoding="utf-8")
    message = tmp_path / "message.eml"
    message.write_bytes(MESSAGE)
    return config, message


def run_test(build, config, message, *extra):
    return run_mailgate(build, ["test", "--config", str(config), "--from", "a@remote.example",
                                *extra, str(message)])


def test_accepted_message_is_printed_with_edits(build, tmp_path):
    """A local recipient passes; the added header and the CRLF message with Received appear."""
    config, message = write_files(tmp_path, [
        relay_access_entry(build),
        verdict_entry(build, name="stamp", stage="end_of_message", verdict="continue",
                      add_header="X-Stamp: yes"),
    ])
    result = run_test(build, config, message, "--rcpt", "user@example.test",
                      "--rcpt", "user@other.example", "--client-ip", "192.0.2.9")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "stage rcpt_to <user@example.test>\n  relay_access: accept" in out
    assert "<user@other.example> refused: 550 5.7.1" in out
    assert "stage end_of_message\n  plugin stamp: edit add_header X-Stamp\n  stamp: continue" in out
    assert ("result: accepted for delivery from <a@remote.example> to <user@example.test>"
            in out), out
    message_part = out.split("--- message as the backend would receive it ---\n", 1)[1]
    assert message_part.startswith("Received: from client.example ([192.0.2.9])")
    # (text mode reads the CRLF line ends as plain newlines)
    assert "Subject: policy\nFrom: a@remote.example\nX-Stamp: yes\n\nhello\n.dotted\n" in message_part


def test_rejection_at_end_of_message_names_the_plugin(build, tmp_path):
    """A reject at end of message exits 3 and names the plugin and its reply."""
    config, message = write_files(tmp_path, [
        relay_access_entry(build),
        verdict_entry(build, name="judge", stage="end_of_message", verdict="reject",
                      code=554, enhanced="5.7.1", text="No thanks"),
    ])
    result = run_test(build, config, message, "--rcpt", "user@example.test")
    assert result.returncode == 3
    assert "result: refused at end_of_message by judge: 554 5.7.1 No thanks" in result.stdout


def test_no_recipient_accepted(build, tmp_path):
    """With every recipient refused the result is refused (exit 3) and no message is shown."""
    config, message = write_files(tmp_path, [relay_access_entry(build)])
    result = run_test(build, config, message, "--rcpt", "user@other.example")
    assert result.returncode == 3
    assert "result: refused: no recipient accepted" in result.stdout
    assert "--- message" not in result.stdout


def test_broken_config_and_usage(build, tmp_path):
    """A config error exits 1 with its location; missing arguments exit 2 with the usage."""
    config = tmp_path / "broken.yaml"
    config.write_text("backend: {type: maildir, path: /tmp/x}\nlimits:\n  bogus: 1\n")
    message = tmp_path / "m.eml"
    message.write_bytes(MESSAGE)
    result = run_test(build, config, message, "--rcpt", "user@example.test")
    assert result.returncode == 1
    assert f"{config}:3:3:" in result.stderr
    usage = run_mailgate(build, ["test", "--config", str(config)])
    assert usage.returncode == 2
    assert "usage:" in usage.stderr
