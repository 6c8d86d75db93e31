"""Every finished transaction writes one summary line to the log."""

import time

from smtp_client import smtp

SENDER = "sender@remote.example"
RCPT = "user@example.test"


def summary_lines(gateway, timeout: float = 5.0) -> list[str]:
    """The log lines with outcome=accepted, waiting (bounded) for the first to appear."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [l for l in gateway.log_text().splitlines() if "outcome=accepted" in l]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_summary_line_for_delivered_message(gateway, backend):
    """One delivered message gives one outcome=accepted line naming sender and recipient."""
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, [RCPT], b"Subject: log\r\n\r\nhello\r\n") == {}
    backend.wait_for_transactions(1)
    lines = summary_lines(gateway)
    assert len(lines) == 1, gateway.log_text()
    assert SENDER in lines[0] and RCPT in lines[0], lines[0]
