"""The metrics endpoint: counts after a known run, health and readiness, config and start errors."""

import signal
import smtplib
import socket
import time

import pytest

from mailgate_process import free_port, gateway_config, run_mailgate, to_yaml
from metrics_client import http_get, scrape, value
from recording_backend import RecordingBackend
from smtp_client import RawClient, open_session, smtp

SENDER = "sender@remote.example"
LOCAL = "user@example.test"
FOREIGN = "someone@elsewhere.example"
MESSAGE = b"Subject: metrics\r\n\r\nhello\r\n"


@pytest.fixture
def metrics_port():
    return free_port()


@pytest.fixture
def gateway(start_gateway, metrics_port):
    return start_gateway(metrics={"listen": f"127.0.0.1:{metrics_port}"})


def wait_for(check, timeout: float = 5.0):
    """Polls check() until it returns a true value (bounded); returns the last value."""
    deadline = time.monotonic() + timeout
    result = check()
    while not result and time.monotonic() < deadline:
        time.sleep(0.05)
        result = check()
    return result


# Three messages accepted by the backend and one recipient refused at RCPT give exactly these
# counts; the endpoint's text is valid exposition format (HELP/TYPE before each family).
def test_counts_after_a_known_run(gateway, backend, metrics_port):
    for _ in range(3):
        with smtp(gateway.port) as client:
            assert client.sendmail(SENDER, [LOCAL], MESSAGE) == {}
    with smtp(gateway.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail(SENDER, [FOREIGN], MESSAGE)
    backend.wait_for_transactions(3)

    samples = wait_for(lambda: (lambda s: s if value(s, "mailgate_connections_open") == 0
                                else None)(scrape(metrics_port)))
    assert samples, "sessions still open after the clients left"
    assert value(samples, "mailgate_messages_total", outcome="accepted") == 3
    for outcome in ("rejected", "tempfailed", "discarded", "quarantined", "aborted", "timeout",
                    "reset", "other"):
        assert value(samples, "mailgate_messages_total", outcome=outcome) == 0, outcome
    assert value(samples, "mailgate_message_recipients_total") == 3
    assert value(samples, "mailgate_message_bytes_total") == 3 * len(MESSAGE)
    assert value(samples, "mailgate_connections_total") == 4
    assert value(samples, "mailgate_received_bytes_total") > 3 * len(MESSAGE)
    verdicts = {verdict: value(samples, "mailgate_plugin_verdicts_total", plugin="relay_access",
                               stage="rcpt_to", verdict=verdict)
                for verdict in ("accept", "reject", "continue")}
    assert verdicts == {"accept": 3, "reject": 1, "continue": 0}
    assert value(samples, "mailgate_plugin_hook_duration_seconds_count", plugin="relay_access",
                 stage="rcpt_to") == 4
    assert value(samples, "mailgate_plugin_hook_duration_seconds_bucket", plugin="relay_access",
                 stage="rcpt_to", le="+Inf") == 4
    assert value(samples, "mailgate_backend_duration_seconds_count", step="data") == 3
    assert value(samples, "mailgate_backend_duration_seconds_count", step="mail_from") == 4
    assert value(samples, "mailgate_backend_duration_seconds_count", step="rcpt_to") == 3
    assert value(samples, "mailgate_backend_errors_total", kind="unavailable") == 0
    assert value(samples, "mailgate_tls_handshakes_total", result="success") == 0
    assert value(samples, "mailgate_ready") == 1
    assert ("mailgate_build_info", frozenset({("version", "0.1.0")})) in samples


# Histogram buckets are cumulative and end in +Inf = _count.
def test_histogram_buckets_are_cumulative(gateway, backend, metrics_port):
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, [LOCAL], MESSAGE) == {}
    backend.wait_for_transactions(1)
    samples = scrape(metrics_port)
    buckets = sorted(((labels, count) for (name, labels), count in samples.items()
                      if name == "mailgate_backend_duration_seconds_bucket"
                      and ("step", "data") in labels),
                     key=lambda item: float(dict(item[0])["le"].replace("+Inf", "inf")))
    counts = [count for _, count in buckets]
    assert counts == sorted(counts) and counts[-1] == 1, buckets
    assert value(samples, "mailgate_backend_duration_seconds_sum", step="data") > 0


# Limits hit are counted by the config key that refused: errors and message size here.
def test_limit_hits_are_counted(start_gateway, backend, metrics_port):
    gateway = start_gateway(metrics={"listen": f"127.0.0.1:{metrics_port}"},
                            limits={"max_errors": 2, "max_message_size": "1KiB"})
    with RawClient(gateway.port) as client:
        assert client.greeting().code == 220
        assert client.command("NONSENSE").code == 500
        assert client.command("NONSENSE").code == 500
        assert client.read_reply().code == 421  # the second error reached max_errors
    with smtp(gateway.port) as client:
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.sendmail(SENDER, [LOCAL], b"x" * 2048, mail_options=["SIZE=2048"])
    samples = scrape(metrics_port)
    assert value(samples, "mailgate_limit_hits_total", limit="max_errors") == 1
    assert value(samples, "mailgate_limit_hits_total", limit="max_message_size") == 1
    assert value(samples, "mailgate_limit_hits_total", limit="max_connections") == 0


# A connection over max_connections_per_ip is counted as accepted, then as a limit hit.
def test_per_address_limit_is_counted(start_gateway, metrics_port):
    gateway = start_gateway(metrics={"listen": f"127.0.0.1:{metrics_port}"},
                            limits={"max_connections_per_ip": 1})
    with RawClient(gateway.port) as first:
        assert first.greeting().code == 220
        with RawClient(gateway.port) as second:
            assert second.greeting().code == 421
        # The refused connection's slot is given back just after its 421 is written.
        samples = wait_for(lambda: (lambda s: s if value(s, "mailgate_connections_open") == 1
                                    else None)(scrape(metrics_port)))
        assert samples, "the refused connection still counts as open"
    assert value(samples, "mailgate_limit_hits_total", limit="max_connections_per_ip") == 1
    assert value(samples, "mailgate_connections_total") == 2
    assert value(samples, "mailgate_connections_open") == 1


# An LMTP backend: one data step per message, and a message delivered to every recipient is no
# backend error (the replies LMTP leaves out are counted only when one is missing).
def test_lmtp_backend_counts(start_gateway, metrics_port):
    server = RecordingBackend(lmtp=True).start()
    try:
        gateway = start_gateway(metrics={"listen": f"127.0.0.1:{metrics_port}"},
                                backend={"type": "lmtp", "servers": [f"127.0.0.1:{server.port}"],
                                         "connect_timeout": "2s", "command_timeout": "5s",
                                         "lmtp_multi_recipient": "merge"})
        with smtp(gateway.port) as client:
            assert client.sendmail(SENDER, [LOCAL, "other@example.test"], MESSAGE) == {}
        server.wait_for_transactions(1)
        samples = scrape(metrics_port)
    finally:
        server.stop()
    assert value(samples, "mailgate_messages_total", outcome="accepted") == 1
    assert value(samples, "mailgate_message_recipients_total") == 2
    assert value(samples, "mailgate_backend_duration_seconds_count", step="data") == 1
    for kind in ("unavailable", "timeout", "lost", "protocol", "local"):
        assert value(samples, "mailgate_backend_errors_total", kind=kind) == 0, kind


# A backend that is down is counted as a backend error (the client got 451 4.4.1).
def test_backend_unavailable_is_counted(start_gateway, metrics_port):
    gateway = start_gateway(metrics={"listen": f"127.0.0.1:{metrics_port}"},
                            backend={"type": "smtp", "servers": [f"127.0.0.1:{free_port()}"],
                                     "connect_timeout": "2s"})
    with smtp(gateway.port) as client:
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.sendmail(SENDER, [LOCAL], MESSAGE)
    samples = scrape(metrics_port)
    assert value(samples, "mailgate_backend_errors_total", kind="unavailable") == 1
    assert value(samples, "mailgate_messages_total", outcome="tempfailed") == 1  # at MAIL


# /healthz answers while the process runs; /readyz is 200 when serving and 503 while draining.
def test_health_and_readiness_through_a_drain(gateway, metrics_port):
    assert http_get(metrics_port, "/healthz")[::2] == (200, "ok\n")
    assert http_get(metrics_port, "/readyz")[::2] == (200, "ready\n")
    with RawClient(gateway.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command(f"RCPT TO:<{LOCAL}>").code == 250  # holds the drain open
        gateway.send_signal()
        assert gateway.wait_for_log("draining")
        assert http_get(metrics_port, "/readyz")[::2] == (503, "draining\n")
        assert http_get(metrics_port, "/healthz")[0] == 200
        samples = scrape(metrics_port)
        assert value(samples, "mailgate_ready") == 0
        assert value(samples, "mailgate_connections_open") == 1
        assert client.command("QUIT").code == 221
    assert gateway.wait_exit() == 0


# Unknown paths get 404, other methods 405, HEAD the GET headers without a body.
def test_other_paths_and_methods(gateway, metrics_port):
    assert http_get(metrics_port, "/nothing")[0] == 404
    assert http_get(metrics_port, "/metrics", method="POST")[0] == 405
    status, headers, body = http_get(metrics_port, "/healthz", method="HEAD")
    assert (status, body) == (200, "") and headers["content-length"] == "3"
    assert http_get(metrics_port, "/metrics?name=x")[0] == 200


# Several requests on one kept-alive connection, and a client that sends garbage is dropped
# without harm to the next one.
def test_keep_alive_and_garbage(gateway, metrics_port):
    with socket.create_connection(("127.0.0.1", metrics_port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2, data
    with socket.create_connection(("127.0.0.1", metrics_port), timeout=5) as sock:
        sock.sendall(b"\x00\x01 not http\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536) == b""  # closed without an answer
    assert http_get(metrics_port, "/healthz")[0] == 200


# A SIGHUP reload is counted, keeps the counters and the endpoint, and a broken file counts as a
# failed reload.
def test_reload_keeps_counters(gateway, backend, metrics_port):
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, [LOCAL], MESSAGE) == {}
    gateway.send_signal(signal.SIGHUP)
    assert gateway.wait_for_log("configuration reloaded")
    good = gateway.config_path.read_text()
    gateway.config_path.write_text(good + "unknown_section: 1\n")
    gateway.send_signal(signal.SIGHUP)
    assert gateway.wait_for_log("reload refused")
    gateway.config_path.write_text(good)
    samples = scrape(metrics_port)
    assert value(samples, "mailgate_config_reloads_total", result="success") == 1
    assert value(samples, "mailgate_config_reloads_total", result="failure") == 1
    assert value(samples, "mailgate_messages_total", outcome="accepted") == 1
    assert value(samples, "mailgate_ready") == 1


# Without a metrics section nothing listens for HTTP.
def test_off_by_default(start_gateway):
    gateway = start_gateway()
    assert "metrics and health endpoint" not in gateway.log_text()


def check_config(build, tmp_path, metrics_section: str):
    config = gateway_config(build, 2525)
    config["server"]["listen"] = ["127.0.0.1:2525"]
    path = tmp_path / "metrics.yaml"
    path.write_text(to_yaml(config) + metrics_section, encoding="utf-8")
    return path, run_mailgate(build, ["--check-config", str(path)])


# Each bad metrics section is a located config error, and nothing starts.
@pytest.mark.parametrize("section, line, column, message", [
    ('metrics:\n  listen: "127.0.0.1:99999"\n', 2, 11,
     "metrics.listen: invalid endpoint '127.0.0.1:99999'"),
    ('metrics:\n  listen: ["127.0.0.1:9187", "127.0.0.1:9188"]\n', 2, 11,
     "metrics.listen: expected one host:port"),
    ("metrics:\n  listen: \"no-port\"\n", 2, 11, "metrics.listen: invalid endpoint 'no-port'"),
    ("metrics:\n  port: 9187\n", 2, 3, "unknown key 'port' in 'metrics'"),
    ("metrics: {}\n", 1, 1, "metrics.listen: required to enable the metrics endpoint"),
    ("log:\n  format: xml\n", 2, 11, "log.format: expected one of text, json, got 'xml'"),
])
def test_bad_sections_are_located_errors(build, mailgate_binary, tmp_path, section, line, column,
                                         message):
    path, result = check_config(build, tmp_path, section)
    assert result.returncode == 1, result.stderr
    lines = (path.read_text().count("\n") - section.count("\n"))
    assert f"{path}:{lines + line}:{column}: {message}" in result.stderr, result.stderr


# A metrics port already taken stops the start with exit status 1 and says which address.
def test_metrics_port_in_use(build, mailgate_binary, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = gateway_config(build, 2525)
        config["server"]["listen"] = [f"127.0.0.1:{free_port()}"]
        config["metrics"] = {"listen": f"127.0.0.1:{port}"}
        path = tmp_path / "taken.yaml"
        path.write_text(to_yaml(config), encoding="utf-8")
        result = run_mailgate(build, ["--config", str(path)])
    assert result.returncode == 1, result.stderr
    assert f"metrics.listen: cannot listen on 127.0.0.1:{port}: Address already in use" \
        in result.stderr, result.stderr
