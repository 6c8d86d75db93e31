"""ABI 1.2 edits through a real C++ plugin (tests/plugins/edit_plugin.cpp), checked in the bytes
and the envelope the recording backend receives: headers, body, sender, recipients, per-recipient
refusal at end of message, undeclared edits, and quarantine."""

import re
from pathlib import Path

from mailgate_process import relay_access_entry, run_mailgate, to_yaml
from smtp_client import RawClient, open_session, send_message
from smtp_text import split_received

SENDER = "sender@remote.example"
RCPT = "user@example.test"
CONTENT = (b"Subject: original\r\nX-Drop: yes\r\nX-Tag: one\r\nX-Tag: two\r\n\r\n"
           b"body line\r\n.leading dot\r\n")


def edit_entry(build, name="edit_plugin", plugin="edit_plugin", **settings):
    return {"name": name, "path": str(build.test_plugin(plugin)), "config": settings}


def deliver(gw, content=CONTENT, rcpts=(RCPT,), sender=SENDER):
    with RawClient(gw.port) as client:
        open_session(client)
        reply = send_message(client, sender, list(rcpts), content)
        assert client.command("QUIT").code == 221
    return reply


def without_received(tx) -> bytes:
    return split_received(tx.data)[1]


def test_header_edits(start_gateway, build, backend):
    """insert, change, delete and add land in order, the rest of the message byte for byte."""
    gw = start_gateway(plugins=[relay_access_entry(build), edit_entry(
        build, insert_header="0 X-First: top", change_header="X-Tag 2 second changed",
        delete_header="X-Drop 1", add_header="X-Added: yes")])
    assert deliver(gw).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert without_received(tx) == (
        b"X-First: top\r\nSubject: original\r\nX-Tag: one\r\nX-Tag: second changed\r\n"
        b"X-Added: yes\r\n\r\nbody line\r\n.leading dot\r\n")
    log = gw.log_text()
    for edit in ("insert_header", "change_header", "delete_header", "add_header"):
        assert f"plugin edit_plugin: edit {edit}" in log, log


def test_replace_body(start_gateway, build, backend):
    """The new body follows the headers; dot-stuffing on the way to the backend still works."""
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, replace_body="new body|.dot line")])
    assert deliver(gw).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert without_received(tx).endswith(b"X-Tag: two\r\n\r\nnew body\r\n.dot line\r\n")
    assert b"\r\n..dot line\r\n" in tx.data_raw  # stuffed on the wire


def test_change_sender_replays_the_envelope(start_gateway, build, backend):
    """The backend had MAIL from the client's sender; the edit makes mailgate RSET and replay."""
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, change_sender="bounces@example.test")])
    assert deliver(gw).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert tx.sender == "bounces@example.test"
    assert tx.rcpts == [RCPT]
    verbs = [command.split()[0].upper() for command in backend.commands()]
    assert verbs.count("MAIL") == 2 and "RSET" in verbs
    assert "replaying the envelope" in gw.log_text()


def test_null_sender_edit(start_gateway, build, backend):
    gw = start_gateway(plugins=[relay_access_entry(build), edit_entry(build, change_sender="<>")])
    assert deliver(gw).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert tx.sender == ""


def test_add_recipient_needs_no_replay(start_gateway, build, backend):
    """An added recipient is one more RCPT on the open backend transaction."""
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, add_rcpt="archive@example.test")])
    assert deliver(gw).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert tx.rcpts == [RCPT, "archive@example.test"]
    verbs = [command.split()[0].upper() for command in backend.commands()]
    assert verbs.count("MAIL") == 1 and "RSET" not in verbs


def test_delete_recipient(start_gateway, build, backend):
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, delete_rcpt="second@example.test")])
    assert deliver(gw, rcpts=(RCPT, "second@example.test")).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert tx.rcpts == [RCPT]


def test_added_recipient_refused_by_backend(start_gateway, build, backend):
    """The client cannot hear about a recipient it never gave: the others still get the
    message, and the refusal is logged."""
    backend.rcpt_replies["nobody@example.test"] = "550 5.1.1 No such user"
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, add_rcpt="nobody@example.test")])
    assert deliver(gw).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert tx.rcpts == [RCPT]
    assert "backend refused recipient <nobody@example.test> of the edited envelope" in gw.log_text()


def test_deleting_every_recipient_refuses_the_message(start_gateway, build, backend):
    gw = start_gateway(plugins=[relay_access_entry(build), edit_entry(build, delete_rcpt=RCPT)])
    reply = deliver(gw)
    assert reply.code == 554 and reply.enhanced == "5.5.1", str(reply)
    assert backend.transactions == []


def test_reject_one_recipient(start_gateway, build, backend):
    """reject_rcpt takes one recipient out; the others get the message and the client 250."""
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, reject_rcpt="second@example.test")])
    assert deliver(gw, rcpts=(RCPT, "second@example.test")).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert tx.rcpts == [RCPT]
    assert "refused=<second@example.test>" in gw.log_text()


def test_reject_every_recipient(start_gateway, build, backend):
    """With every recipient refused, the client gets the plugin's reply and nothing leaves."""
    gw = start_gateway(plugins=[relay_access_entry(build), edit_entry(build, reject_rcpt=RCPT)])
    reply = deliver(gw)
    assert (reply.code, reply.enhanced) == (550, "5.7.1"), str(reply)
    assert "Refused for this recipient by edit_plugin" in reply.text
    assert backend.transactions == []


def test_undeclared_edits_are_refused(start_gateway, build, backend):
    """A plugin that declared only add_header cannot change anything else; each refusal is
    logged and the message goes out as the client sent it (plus the allowed header)."""
    gw = start_gateway(plugins=[relay_access_entry(build), edit_entry(
        build, name="sneaky", plugin="undeclared_edit_plugin", change_sender="x@example.test",
        add_rcpt="extra@example.test", delete_header="X-Drop 1", replace_body="gone",
        add_header="X-Allowed: yes")])
    assert deliver(gw).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert tx.sender == SENDER and tx.rcpts == [RCPT]
    assert without_received(tx) == CONTENT.replace(b"\r\n\r\n", b"\r\nX-Allowed: yes\r\n\r\n", 1)
    log = gw.log_text()
    for edit, flag in (("change_sender", "MG_EDIT_CHANGE_SENDER"), ("add_rcpt", "MG_EDIT_ADD_RCPT"),
                       ("delete_header", "MG_EDIT_CHANGE_HEADER"),
                       ("replace_body", "MG_EDIT_REPLACE_BODY")):
        assert f"plugin sneaky: {edit} refused: the plugin did not declare {flag}" in log, log


def test_later_plugins_see_the_edits(start_gateway, build, backend):
    """Edits apply at once: the next plugin in the chain reads the edited envelope and headers."""
    gw = start_gateway(plugins=[
        relay_access_entry(build),
        edit_entry(build, name="first", change_sender="new@example.test", delete_header="X-Drop 1",
                   add_rcpt="extra@example.test", replace_body="short"),
        edit_entry(build, name="second", log_message="yes"),
    ])
    assert deliver(gw).code == 250
    assert gw.wait_for_log("plugin second: sees", timeout=5)
    assert ("plugin second: sees from=<new@example.test> "
            "to=<user@example.test><extra@example.test> "
            "headers=Subject;X-Tag;X-Tag; body_octets=7") in gw.log_text()


def test_edits_at_headers_and_body_stages(start_gateway, build, backend):
    gw = start_gateway(plugins=[
        relay_access_entry(build),
        edit_entry(build, name="at_headers", stage="headers", add_header="X-Headers: 1"),
        edit_entry(build, name="at_body", stage="body_chunk", add_header="X-Body: 1"),
    ])
    assert deliver(gw).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert b"X-Headers: 1\r\nX-Body: 1\r\n\r\nbody line" in tx.data


def test_reset_hook_after_each_transaction(start_gateway, build, backend):
    """on_reset runs after a delivery and after RSET."""
    gw = start_gateway(plugins=[relay_access_entry(build), edit_entry(build)])
    with RawClient(gw.port) as client:
        open_session(client)
        assert send_message(client, SENDER, [RCPT], CONTENT).code == 250
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RSET").code == 250
        assert client.command("QUIT").code == 221
    assert gw.wait_for_log("plugin edit_plugin: reset", timeout=5)
    assert gw.log_text().count("plugin edit_plugin: reset") == 2


def quarantined_files(folder: Path) -> list[Path]:
    return sorted((folder / "new").glob("*")) if (folder / "new").is_dir() else []


def test_quarantine(start_gateway, build, backend, tmp_path):
    """A quarantine verdict sends the edited message with its envelope to the quarantine Maildir;
    the client gets 250, the backend nothing."""
    folder = tmp_path / "quarantine"
    folder.mkdir()
    gw = start_gateway(quarantine={"path": str(folder)}, plugins=[
        relay_access_entry(build),
        edit_entry(build, verdict="quarantine", add_header="X-Reason: suspicious")])
    reply = deliver(gw, rcpts=(RCPT, "second@example.test"))
    assert reply.code == 250 and "held for review" in reply.text, str(reply)
    (held,) = quarantined_files(folder)
    text = held.read_bytes()
    assert text.startswith(b"Return-Path: <sender@remote.example>\n"
                           b"X-Mailgate-Quarantine: plugin=edit_plugin; session=")
    assert (b"X-Mailgate-Envelope-To: <user@example.test>,\n <second@example.test>\n"
            in text)
    assert b"X-Reason: suspicious\n\nbody line\n.leading dot\n" in text
    assert backend.transactions == []
    assert "outcome=quarantined decided_by=edit_plugin" in gw.log_text()


def test_quarantine_without_a_folder_tempfails(start_gateway, build, backend):
    """Nothing is lost when no quarantine folder is configured: the client retries later."""
    gw = start_gateway(plugins=[relay_access_entry(build), edit_entry(build, verdict="quarantine")])
    reply = deliver(gw)
    assert (reply.code, reply.enhanced) == (451, "4.3.0"), str(reply)
    assert backend.transactions == []
    assert "no quarantine.path is configured" in gw.log_text()


def test_missing_quarantine_folder_is_a_config_error(build, tmp_path):
    config = tmp_path / "q.yaml"
    config.write_text(to_yaml({"backend": {"type": "maildir", "path": str(tmp_path)},
                               "quarantine": {"path": str(tmp_path / "absent")}}))
    result = run_mailgate(build, ["--check-config", str(config)])
    assert result.returncode == 1
    assert re.search(r"q\.yaml:5:9: quarantine.path: '.*absent' is not an existing folder", result.stderr), \
        result.stderr


def test_policy_test_prints_edits_and_the_result(build, tmp_path):
    """`mailgate test` shows each edit under its stage, the edited envelope and message."""
    config = tmp_path / "edits.yaml"
    config.write_text(to_yaml({
        "backend": {"type": "maildir", "path": str(tmp_path / "unused")},
        "plugins": [relay_access_entry(build),
                    edit_entry(build, change_sender="new@example.test", delete_header="X-Drop 1",
                               add_rcpt="extra@example.test")],
    }))
    message = tmp_path / "m.eml"
    message.write_bytes(CONTENT)
    result = run_mailgate(build, ["test", "--config", str(config), "--from", SENDER,
                                  "--rcpt", RCPT, str(message)])
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "stage end_of_message\n  plugin edit_plugin: edit delete_header X-Drop #1\n" in out
    assert ("plugin edit_plugin: edit change_sender <sender@remote.example> to "
            "<new@example.test>") in out
    assert ("result: accepted for delivery from <new@example.test> to <user@example.test> "
            "<extra@example.test>") in out
    assert "X-Drop" not in out.split("--- message as the backend would receive it ---")[1]
