"""Plugins that take their time: hooks that block run on the worker pool without holding up other
sessions; a hook may answer later (pending); timeouts, exceptions and garbage verdicts are handled
by the plugin's on_error policy; a plugin built for an older ABI minor still works."""

import threading
import time

from mailgate_process import relay_access_entry, verdict_entry
from smtp_client import RawClient, open_session, send_message

SENDER = "sender@remote.example"
RCPT = "user@example.test"
CONTENT = b"Subject: async\r\n\r\nbody\r\n"


def edit_entry(build, name="edit_plugin", **settings):
    entry = {"name": name, "path": str(build.test_plugin("edit_plugin")), "config": settings}
    for key in ("timeout", "on_error", "run_on"):
        if key in settings:
            entry[key] = settings.pop(key)
    return entry


def with_policy(entry, **policy):
    entry.update(policy)
    return entry


def deliver(port, sender=SENDER, rcpts=(RCPT,)):
    with RawClient(port, timeout=15) as client:
        open_session(client)
        reply = send_message(client, sender, list(rcpts), CONTENT)
        client.command("QUIT")
    return reply


def test_a_blocking_plugin_does_not_delay_other_sessions(start_gateway, build, backend):
    """The plugin sleeps 2 s at MAIL for one sender only. Another client sends five messages
    meanwhile; each goes through without waiting for the sleeper (one I/O thread, so a plugin
    run on it would stall them all)."""
    gw = start_gateway(server={"threads": 1}, plugins=[
        verdict_entry(build, name="slow", stage="mail_from", match="sleepy@", sleep_ms=2000),
        relay_access_entry(build)])
    slow_result = {}

    def slow_client():
        started = time.monotonic()
        slow_result["reply"] = deliver(gw.port, sender="sleepy@remote.example")
        slow_result["took"] = time.monotonic() - started

    sleeper = threading.Thread(target=slow_client)
    sleeper.start()
    time.sleep(0.3)  # the sleeper is inside the plugin now
    fast_started = time.monotonic()
    with RawClient(gw.port, timeout=10) as client:
        open_session(client)
        for _ in range(5):
            assert send_message(client, SENDER, [RCPT], CONTENT).code == 250
    fast_took = time.monotonic() - fast_started  # greeting included
    sleeper.join(timeout=15)
    assert slow_result["reply"].code == 250
    assert slow_result["took"] >= 2.0
    assert fast_took < 1.2, fast_took
    assert len(backend.wait_for_transactions(6, timeout=10)) == 6


def test_pending_hook_completes_from_another_thread(start_gateway, build, backend):
    """The hook returns Pending; the plugin's own thread completes it 300 ms later."""
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, pending_ms=300, add_header="X-Async: yes")])
    started = time.monotonic()
    assert deliver(gw.port).code == 250
    assert time.monotonic() - started >= 0.3
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert b"X-Async: yes\r\n" in tx.data


def test_pending_hook_completes_with_a_refusal(start_gateway, build, backend):
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, pending_ms=100, verdict="reject")])
    reply = deliver(gw.port)
    assert (reply.code, reply.enhanced) == (554, "5.7.1"), str(reply)
    assert backend.transactions == []


def test_pending_hook_on_the_worker_pool(start_gateway, build, backend):
    """The same when the YAML sends the plugin to the worker pool."""
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, pending_ms=100, run_on="workers")])
    assert deliver(gw.port).code == 250


def test_pending_hook_that_never_answers_in_time(start_gateway, build, backend):
    """A completion that comes after the timeout is ignored: the client got the on_error reply
    (tempfail), and the next message goes through."""
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, pending_ms=1500, timeout="300ms")])
    started = time.monotonic()
    reply = deliver(gw.port)
    assert (reply.code, reply.enhanced) == (451, "4.3.0"), str(reply)
    assert time.monotonic() - started < 1.4
    assert "plugin edit_plugin did not answer within 300 ms at end_of_message; on_error: " \
           "tempfail" in gw.log_text()
    time.sleep(1.5)  # the late completion arrives and is dropped
    assert gw.running()
    assert backend.transactions == []


def test_timeout_policies(start_gateway, build, backend):
    """A plugin stuck in a hook past its timeout: tempfail (default), accept or reject."""
    slow = dict(stage="end_of_message", sleep_ms=1000)
    gw = start_gateway(plugins=[
        relay_access_entry(build),
        with_policy(verdict_entry(build, name="slow_accept", match="accept-me", **slow),
                    timeout="200ms", on_error="accept"),
        with_policy(verdict_entry(build, name="slow_reject", match="reject-me", **slow),
                    timeout="200ms", on_error="reject"),
        with_policy(verdict_entry(build, name="slow_default", match="default-me", **slow),
                    timeout="200ms"),
    ])
    with RawClient(gw.port, timeout=10) as client:
        open_session(client)
        replies = {word: send_message(client, SENDER, [RCPT],
                                      f"Subject: x\r\n\r\n{word}\r\n".encode())
                   for word in ("accept-me", "reject-me", "default-me")}
    assert replies["accept-me"].code == 250
    assert (replies["reject-me"].code, replies["reject-me"].enhanced) == (554, "5.7.1")
    assert (replies["default-me"].code, replies["default-me"].enhanced) == (451, "4.3.0")
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert b"accept-me" in tx.data
    log = gw.log_text()
    assert "plugin slow_accept did not answer within 200 ms at end_of_message; on_error: accept" \
        in log


def test_exception_goes_to_on_error(start_gateway, build, backend):
    """A C++ hook that throws: logged with the reason, then the policy (here accept)."""
    gw = start_gateway(plugins=[relay_access_entry(build),
                                edit_entry(build, throw="yes", on_error="accept")])
    assert deliver(gw.port).code == 250
    log = gw.log_text()
    assert "plugin edit_plugin: on_end_of_message threw: edit_plugin was told to throw" in log
    assert "plugin edit_plugin reported an error at end_of_message; on_error: accept" in log


def test_garbage_and_error_verdicts(start_gateway, build, backend):
    """A verdict outside the ABI, or MG_ERROR, is the plugin's failure, never a crash."""
    gw = start_gateway(plugins=[
        verdict_entry(build, name="garbage", stage="rcpt_to", match="garbage@", verdict="garbage"),
        with_policy(verdict_entry(build, name="failing", stage="rcpt_to", match="error@",
                                  verdict="error"), on_error="reject"),
        relay_access_entry(build),  # last: its accept ends the rcpt_to stage
    ])
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        garbage = client.command("RCPT TO:<garbage@example.test>")
        failing = client.command("RCPT TO:<error@example.test>")
        fine = client.command(f"RCPT TO:<{RCPT}>")
    assert (garbage.code, garbage.enhanced) == (451, "4.3.0"), str(garbage)
    assert failing.code == 550, str(failing)
    assert fine.code == 250
    log = gw.log_text()
    assert "plugin garbage returned an invalid verdict 42 at rcpt_to; on_error: tempfail" in log


def test_data_stage_refusal(start_gateway, build, backend):
    """on_data refuses before the client sends the message: no 354."""
    gw = start_gateway(plugins=[relay_access_entry(build), verdict_entry(
        build, name="no_data", stage="data", verdict="reject", code=554, text="No mail today")])
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command(f"RCPT TO:<{RCPT}>").code == 250
        reply = client.command("DATA")
        assert reply.code == 554 and "No mail today" in reply.text, str(reply)
        assert client.command("RSET").code == 250
    assert backend.transactions == []


def test_body_chunk_verdict(start_gateway, build, backend):
    """A body hook sees the body (here a spilled 300 KB one, in pieces) and may refuse it."""
    gw = start_gateway(limits={"spill_threshold": "64KiB"}, plugins=[
        relay_access_entry(build),
        verdict_entry(build, name="body", stage="body_chunk", match="NEEDLE", verdict="reject")])
    clean = b"Subject: big\r\n\r\n" + b"x" * 998 + b"\r\n"
    with RawClient(gw.port, timeout=10) as client:
        open_session(client)
        assert send_message(client, SENDER, [RCPT], clean * 300).code == 250
        dirty = clean * 200 + b"the NEEDLE\r\n" + clean * 100
        assert send_message(client, SENDER, [RCPT], dirty).code == 554
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert len(tx.data) > 300 * 1000


def test_plugin_built_for_abi_1_0(start_gateway, build, backend):
    """An ABI 1.0 plugin loads and adds its header; its 6 is an invalid verdict, not pending."""
    gw = start_gateway(plugins=[
        {"name": "legacy", "path": str(build.test_plugin("legacy_plugin"))},
        relay_access_entry(build)])
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        six = client.command("RCPT TO:<six@example.test>")
        assert (six.code, six.enhanced) == (451, "4.3.0"), str(six)
        assert client.command("RSET").code == 250
        assert send_message(client, SENDER, [RCPT], CONTENT).code == 250
    (tx,) = backend.wait_for_transactions(1, timeout=10)
    assert b"X-Legacy: 1.0\r\n" in tx.data
    assert "plugin legacy returned an invalid verdict 6 at rcpt_to" in gw.log_text()


def test_bad_plugin_policy_is_a_config_error(build, tmp_path):
    from mailgate_process import run_mailgate, to_yaml
    config = tmp_path / "p.yaml"
    config.write_text(to_yaml({
        "backend": {"type": "maildir", "path": str(tmp_path)},
        "plugins": [{"name": "relay_access", "path": str(build.plugin("relay_access")),
                     "on_error": "explode", "timeout": "soon", "run_on": "gpu"}]}))
    result = run_mailgate(build, ["--check-config", str(config)])
    assert result.returncode == 1
    assert "on_error" in result.stderr and "explode" in result.stderr, result.stderr
    assert "timeout" in result.stderr and "run_on" in result.stderr, result.stderr
