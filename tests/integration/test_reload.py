"""SIGHUP reloads the YAML and the plugins: new sessions use the new chain, sessions in flight
finish on the old one, a broken new config is refused and the old one stays."""

import signal
import threading
import time

from mailgate_process import gateway_config, relay_access_entry, write_config
from smtp_client import RawClient, open_session, send_message

CONTENT = b"Subject: reload\r\n\r\nbody\r\n"


def rcpt_reply(port: int, rcpt: str):
    with RawClient(port) as client:
        open_session(client)
        assert client.command("MAIL FROM:<sender@remote.example>").code == 250
        return client.command(f"RCPT TO:<{rcpt}>")


def reload_with(gw, build, backend, local_domains) -> None:
    config = gateway_config(build, backend.port,
                            plugins=[relay_access_entry(build, local_domains=local_domains)])
    write_config(gw.config_path, config, port=gw.port)
    before = gw.log_text().count("configuration reloaded")
    gw.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while gw.log_text().count("configuration reloaded") == before:
        assert time.monotonic() < deadline, gw.log_text()
        assert "reload refused" not in gw.log_text(), gw.log_text()
        time.sleep(0.05)


def test_reload_applies_new_plugin_config(start_gateway, build, backend):
    """A domain added to relay_access on disk is accepted after SIGHUP, not before."""
    gw = start_gateway()
    assert rcpt_reply(gw.port, "user@other.test").code == 550
    reload_with(gw, build, backend, ["example.test", "other.test"])
    assert rcpt_reply(gw.port, "user@other.test").code == 250


def test_broken_config_is_refused_and_old_one_stays(start_gateway):
    """A YAML error in the new file is logged with its location; mail flows on the old config."""
    gw = start_gateway()
    gw.config_path.write_text("server:\n  listen: [\n", encoding="utf-8")
    gw.send_signal(signal.SIGHUP)
    assert gw.wait_for_log("reload refused", timeout=10), gw.log_text()
    assert f"{gw.config_path}:" in gw.log_text()
    assert gw.running()
    assert rcpt_reply(gw.port, "user@example.test").code == 250


def test_session_in_flight_keeps_its_chain(start_gateway, build, backend):
    """A session opened before the reload finishes on the old chain; a new one gets the new."""
    gw = start_gateway()
    with RawClient(gw.port) as old_session:
        open_session(old_session)
        reload_with(gw, build, backend, ["example.test", "other.test"])
        assert old_session.command("MAIL FROM:<sender@remote.example>").code == 250
        assert old_session.command("RCPT TO:<user@other.test>").code == 550
        assert old_session.command("RCPT TO:<user@example.test>").code == 250
    assert rcpt_reply(gw.port, "user@other.test").code == 250


def test_reload_during_a_stream_of_messages(start_gateway, build, backend):
    """While a client sends 40 messages, five reloads happen; every message gets 250."""
    gw = start_gateway()
    replies = []
    errors = []

    def send_stream():
        try:
            for i in range(40):
                with RawClient(gw.port) as client:
                    open_session(client)
                    replies.append(send_message(client, "sender@remote.example",
                                                [f"user{i}@example.test"], CONTENT).code)
        except Exception as error:  # reported below, in the test's own thread
            errors.append(error)

    sender = threading.Thread(target=send_stream)
    sender.start()
    for _ in range(5):
        reload_with(gw, build, backend, ["example.test"])
        time.sleep(0.05)
    sender.join(timeout=60)
    assert not sender.is_alive()
    assert errors == []
    assert replies == [250] * 40
    assert len(backend.wait_for_transactions(40, timeout=10)) == 40
