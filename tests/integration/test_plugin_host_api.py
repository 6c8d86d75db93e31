"""The ABI 1.1 host functions through a real C plugin (tests/plugins/score_plugin.c): symbols
and the score, per-session and per-transaction private data, MAIL parameters, local address."""

from mailgate_process import relay_access_entry, run_mailgate, to_yaml
from smtp_client import RawClient, open_session, send_message
from smtp_text import split_received

CONTENT = b"Subject: scored\r\n\r\nbody\r\n"


def headers_of(tx) -> dict:
    _, rest = split_received(tx.data)
    head = rest.split(b"\r\n\r\n", 1)[0].decode()
    return dict(line.split(": ", 1) for line in head.split("\r\n"))


def test_symbols_data_and_context(start_gateway, build, backend):
    """Connection symbols count for every message; transaction symbols only for theirs; the
    session counter survives between messages; the host frees each kind of data."""
    gw = start_gateway(plugins=[
        relay_access_entry(build),
        {"name": "score_plugin", "path": str(build.test_plugin("score_plugin"))},
    ])
    with RawClient(gw.port) as client:
        open_session(client)
        first = send_message(client, "a@remote.example", ["user@example.test"], CONTENT,
                             mail_params=f" SIZE={len(CONTENT)}")
        second = send_message(client, "b@remote.example", ["user@example.test"], CONTENT)
        assert (first.code, second.code) == (250, 250)
        assert client.command("QUIT").code == 221
    one, two = backend.wait_for_transactions(2, timeout=10)
    h1, h2 = headers_of(one), headers_of(two)
    assert h1["X-Score"] == "1.50"
    assert h1["X-Symbols"] == "CONNECT_SEEN=0.5 HAS_SIZE=1.0"
    assert h1["X-Local"] == f"127.0.0.1:{gw.port}"
    assert h1["X-Session-Messages"] == "1"
    assert h2["X-Score"] == "0.50"
    assert h2["X-Symbols"] == "CONNECT_SEEN=0.5"
    assert h2["X-Session-Messages"] == "2"
    assert gw.wait_for_log("session data freed", timeout=5)
    log = gw.log_text()
    assert log.count("transaction data freed") == 2
    assert log.count("session data freed") == 1
    assert "score=1.50 symbols=CONNECT_SEEN(0.50),HAS_SIZE(1.00)" in log


def test_policy_test_prints_symbols(build, tmp_path):
    """`mailgate test` lists each symbol and the total score."""
    config = tmp_path / "score.yaml"
    config.write_text(to_yaml({
        "backend": {"type": "maildir", "path": str(tmp_path / "unused")},
        "plugins": [relay_access_entry(build),
                    {"name": "score_plugin", "path": str(build.test_plugin("score_plugin"))}],
    }))
    message = tmp_path / "m.eml"
    message.write_bytes(CONTENT)
    result = run_mailgate(build, ["test", "--config", str(config), "--from", "a@remote.example",
                                  "--rcpt", "user@example.test", str(message)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "symbol CONNECT_SEEN +0.50 (a client connected)" in result.stdout
    assert "score 0.50" in result.stdout
