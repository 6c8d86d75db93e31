"""Messages reach the backend byte for byte, with their envelope, over one reused connection."""

from smtp_client import RawClient, open_session, send_message, smtp
from smtp_text import dot_stuff, split_received, wire_problems

SENDER = "sender@remote.example"
RCPT = "user@example.test"

# Leading dots, a line that is only ".", an 8-bit UTF-8 line and a 998-octet line (1000 with CRLF).
CONTENT = (
    b"From: Sender <sender@remote.example>\r\n"
    b"To: <user@example.test>\r\n"
    b"Subject: dots and 8 bits\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b".leading dot\r\n"
    b"..two leading dots\r\n"
    b".\r\n"
    b"...\r\n"
    b" .space then dot\r\n"
    + "8-bit: Grüße, naïve café, 日本語\r\n".encode("utf-8")
    + b"x" * 998 + b"\r\n"
    + b"last line\r\n"
)


def delivered_content(transaction) -> bytes:
    """The message as the backend got it, minus the one Received header mailgate adds."""
    assert wire_problems(transaction.data_raw) == []
    assert transaction.data_raw == dot_stuff(transaction.data)
    _, rest = split_received(transaction.data)
    assert not rest.startswith(b"Received:"), "more than one Received header added"
    return rest


def message(subject: str) -> bytes:
    return f"Subject: {subject}\r\n\r\nbody of {subject}\r\n".encode()


def test_byte_exact_delivery(gateway, backend):
    """Dot-stuffed, 8-bit and 998-octet lines arrive unchanged after one Received header."""
    with RawClient(gateway.port) as client:
        open_session(client)
        reply = send_message(client, SENDER, [RCPT], CONTENT, " BODY=8BITMIME")
        assert reply.code == 250, str(reply)
    (tx,) = backend.wait_for_transactions(1)
    assert delivered_content(tx) == CONTENT
    assert tx.data_raw.endswith(dot_stuff(CONTENT))


def test_envelope_reaches_backend(gateway, backend):
    """The client's MAIL FROM and RCPT TO addresses are the backend's envelope."""
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, [RCPT], message("envelope")) == {}
    (tx,) = backend.wait_for_transactions(1)
    assert (tx.sender, tx.rcpts) == (SENDER, [RCPT])


def test_three_recipients(gateway, backend):
    """One message to three recipients reaches the backend once with all three."""
    rcpts = ["a@example.test", "b@example.test", "c@example.test"]
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, rcpts, message("three")) == {}
    (tx,) = backend.wait_for_transactions(1)
    assert tx.rcpts == rcpts
    assert delivered_content(tx) == message("three")


def test_three_messages_reuse_one_backend_connection(gateway, backend):
    """Three messages in one client session are all delivered over a single backend connection."""
    with smtp(gateway.port) as client:
        assert client.sendmail(SENDER, [RCPT], message("one")) == {}
        assert client.rset()[0] == 250
        assert client.sendmail(SENDER, [RCPT], message("two")) == {}
        assert client.sendmail(SENDER, [RCPT], message("three")) == {}
    transactions = backend.wait_for_transactions(3)
    assert [delivered_content(tx) for tx in transactions] == [
        message("one"), message("two"), message("three")]
    assert backend.connection_count == 1


def test_pipelined_transaction(gateway, backend):
    """MAIL, two RCPTs and DATA in one write get 250, 250, 250, 354 in order; delivered."""
    with RawClient(gateway.port) as client:
        client.greeting()
        assert "PIPELINING" in client.ehlo().text.upper()
        client.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<a@example.test>\r\n"
                    "RCPT TO:<b@example.test>\r\nDATA\r\n".encode())
        codes = [client.read_reply().code for _ in range(4)]
        assert codes == [250, 250, 250, 354]
        client.send(message("pipelined") + b".\r\n")
        assert client.read_reply().code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert tx.rcpts == ["a@example.test", "b@example.test"]
    assert delivered_content(tx) == message("pipelined")


def test_empty_message(gateway, backend):
    """DATA followed directly by '.' delivers a message that is only the Received header."""
    with RawClient(gateway.port) as client:
        open_session(client)
        assert send_message(client, SENDER, [RCPT], b"").code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert delivered_content(tx) == b""
