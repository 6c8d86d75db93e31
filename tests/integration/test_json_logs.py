"""log.format json: every line of a real run is one JSON object with the session and transaction
ids, and the message summary carries its fields as separate keys."""

import json
import time

from mailgate_process import free_port, relay_access_entry, verdict_entry
from smtp_client import RawClient, open_session, smtp

SENDER = "sender@remote.example"
RCPT = "user@example.test"
UTF8_RCPT = "jörg@example.test"
MESSAGE = b"Subject: json\r\n\r\nhello\r\n"


def json_lines(gateway, predicate, count: int, timeout: float = 5.0) -> list[dict]:
    """Every log line parsed as JSON (a line that does not parse fails the test), once `count`
    of them match predicate (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        # A line still being written has no newline yet: only complete lines are parsed.
        complete = gateway.log_text().split("\n")[:-1]
        records = [json.loads(line) for line in complete]
        if len([r for r in records if predicate(r)]) >= count or time.monotonic() > deadline:
            return records


def summaries(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("event") == "message"]


# A delivered message and a refused one: all lines parse, the summaries have every field.
def test_a_real_run_logs_json_lines(start_gateway, backend):
    gateway = start_gateway(log={"format": "json", "level": "debug"})
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, [RCPT], MESSAGE) == {}
        assert client.sendmail(SENDER, [UTF8_RCPT], MESSAGE, mail_options=["SMTPUTF8"]) == {}
    with RawClient(gateway.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command(f"RCPT TO:<{RCPT}>").code == 250
        assert client.command("RSET").code == 250  # a transaction reset: outcome "reset"
        assert client.command("QUIT").code == 221
    backend.wait_for_transactions(2)
    records = json_lines(gateway, lambda r: r.get("event") == "message", 3)

    for record in records:
        assert set(record) >= {"time", "level"}, record
        assert record["level"] in ("debug", "info", "warning", "error"), record
        assert record["time"].endswith("Z"), record
        assert "message" in record or record.get("event") == "message", record
    assert any("listening on" in r.get("message", "") for r in records)
    assert any(r.get("message", "").startswith("connect from") and "session" in r
               for r in records)

    accepted, utf8, reset = summaries(records)
    assert accepted["outcome"] == "accepted" and utf8["outcome"] == "accepted"
    assert reset["outcome"] == "reset"
    for summary in (accepted, utf8, reset):
        assert summary["transaction"] == summary["id"]
        assert summary["id"].startswith(summary["session"] + ".")
    assert accepted["id"] == accepted["session"] + ".1"
    assert utf8["id"] == accepted["session"] + ".2"
    assert accepted["client"] == "127.0.0.1"
    assert accepted["helo"] == "client.example"
    assert accepted["from"] == SENDER
    assert accepted["to"] == [RCPT]
    assert utf8["to"] == [UTF8_RCPT]  # valid UTF-8 stays as it is
    assert accepted["size"] == len(MESSAGE)
    assert accepted["decided_by"] is None
    assert accepted["reply"].startswith("250 2.0.0 Ok: queued as")
    assert isinstance(accepted["duration_ms"], int)
    assert reset["reply"] is None and reset["size"] == 0


# Plugin log lines inside a transaction name the transaction as well as the session; scores and
# symbols are a number and a list of objects.
def test_plugin_lines_and_scores(start_gateway, backend, build):
    gateway = start_gateway(log={"format": "json"}, plugins=[
        {"name": "scores", "path": str(build.test_plugin("score_plugin")), "config": {}},
        verdict_entry(build, stage="end_of_message", verdict="continue"),
        relay_access_entry(build)])
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, [RCPT], MESSAGE) == {}
    records = json_lines(gateway, lambda r: r.get("event") == "message", 1)
    (summary,) = summaries(records)
    plugin_lines = [r for r in records
                    if r.get("message", "").startswith("plugin verdict_plugin")]
    assert plugin_lines, records
    for record in plugin_lines:
        assert record["transaction"] == summary["id"], record
        assert record["session"] == summary["session"], record
    assert isinstance(summary["score"], float) and summary["score"] > 0
    assert {"name": "CONNECT_SEEN", "score": 0.5} in summary["symbols"]


# The backend's own lines (here: it cannot be reached) carry the client session's id too.
def test_backend_lines_carry_the_session(start_gateway):
    gateway = start_gateway(log={"format": "json"},
                            backend={"type": "smtp", "servers": [f"127.0.0.1:{free_port()}"],
                                     "connect_timeout": "2s"})
    with smtp(gateway.port) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 451
    records = json_lines(gateway, lambda r: r.get("event") == "message", 1)
    backend_lines = [r for r in records if r.get("message", "").startswith("backend")]
    (summary,) = summaries(records)
    assert backend_lines, records
    for record in backend_lines:
        assert record["session"] == summary["session"], record
    assert summary["outcome"] == "tempfailed"
    assert summary["reply"].startswith("451 4.4.1")
