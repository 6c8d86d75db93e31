"""MAIL to the backend goes out with the first RCPT, in one write, when the backend offers
PIPELINING (RFC 2920): one round trip less per message. A sender the backend refuses is then
heard at RCPT. Without PIPELINING, MAIL stays in lockstep."""

import socket
import threading
import time

import pytest

from mailgate_process import smtp_backend
from smtp_client import RawClient, open_session, send_message

SENDER = "sender@remote.example"
CONTENT = b"Subject: pipelining\r\n\r\nbody\r\n"


class ChunkBackend:
    """A one-thread SMTP backend that records which command lines came in which recv()."""

    def __init__(self, pipelining: bool, mail_reply: bytes = b"250 2.1.0 Ok\r\n",
                 chunking: bool = False, rcpt_without_mail: bool = False):
        self.pipelining = pipelining
        self.mail_reply = mail_reply
        self.chunking = chunking  # advertised only: this backend speaks DATA
        self.rcpt_without_mail = rcpt_without_mail  # a broken backend: 250 to RCPT regardless
        self.connections = 0
        self.chunks: list[list[str]] = []  # the command lines of each recv, in order
        self.messages = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                self.converse(conn)

    def converse(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        conn.sendall(b"220 chunk.test ESMTP\r\n")
        buffer = b""
        mail_ok = False
        in_data = False
        deadline = time.monotonic() + 30
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return
            buffer += chunk
            lines = []
            while b"\r\n" in buffer:
                line, buffer = buffer.split(b"\r\n", 1)
                if in_data:
                    if line == b".":
                        in_data = False
                        self.messages += 1
                        conn.sendall(b"250 2.0.0 queued\r\n")
                    continue
                text = line.decode("ascii", "replace")
                lines.append(text)
                verb = text.split(" ", 1)[0].split(":", 1)[0].upper()
                if verb == "EHLO":
                    extra = b"250-PIPELINING\r\n" if self.pipelining else b""
                    extra += b"250-CHUNKING\r\n" if self.chunking else b""
                    conn.sendall(b"250-chunk.test\r\n" + extra + b"250 ENHANCEDSTATUSCODES\r\n")
                elif verb == "MAIL":
                    mail_ok = self.mail_reply.startswith(b"2")
                    conn.sendall(self.mail_reply)
                elif verb == "RCPT":
                    conn.sendall(b"250 2.1.5 Ok\r\n" if mail_ok or self.rcpt_without_mail else
                                 b"503 5.5.1 Error: need MAIL command\r\n")
                elif verb == "DATA":
                    in_data = True
                    conn.sendall(b"354 go ahead\r\n")
                elif verb == "RSET":
                    mail_ok = False
                    conn.sendall(b"250 2.0.0 Ok\r\n")
                elif verb == "QUIT":
                    conn.sendall(b"221 2.0.0 Bye\r\n")
                    self.chunks.append(lines)
                    return
                else:
                    conn.sendall(b"502 5.5.2 Error: command not recognized\r\n")
            if lines:
                self.chunks.append(lines)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def chunk_backend():
    backends = []

    def make(**settings) -> ChunkBackend:
        backends.append(ChunkBackend(**settings))
        return backends[-1]
    yield make
    for backend in backends:
        backend.stop()


def test_mail_and_first_rcpt_share_one_write(start_gateway, chunk_backend):
    backend = chunk_backend(pipelining=True)
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        for number in range(2):
            reply = send_message(client, SENDER, [f"a{number}@example.test",
                                                  f"b{number}@example.test"], CONTENT)
            assert reply.code == 250, str(reply)
    assert backend.messages == 2
    envelope_chunks = [c for c in backend.chunks if any(l.startswith("MAIL") for l in c)]
    assert [[line.split(":")[0] for line in c] for c in envelope_chunks] == [
        ["MAIL FROM", "RCPT TO"], ["MAIL FROM", "RCPT TO"]], backend.chunks
    # The second recipient is relayed on its own, in lockstep with the client.
    assert ["RCPT TO:<b0@example.test>"] in backend.chunks


def test_without_pipelining_mail_goes_alone(start_gateway, chunk_backend):
    backend = chunk_backend(pipelining=False)
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert send_message(client, SENDER, ["a@example.test"], CONTENT).code == 250
    assert [f"MAIL FROM:<{SENDER}>"] in backend.chunks
    assert ["RCPT TO:<a@example.test>"] in backend.chunks


def test_refused_sender_is_heard_at_rcpt(start_gateway, chunk_backend):
    backend = chunk_backend(pipelining=True, mail_reply=b"553 5.7.1 Sender address rejected\r\n")
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        for rcpt in ("a@example.test", "b@example.test"):
            reply = client.command(f"RCPT TO:<{rcpt}>")
            assert (reply.code, reply.enhanced) == (553, "5.7.1"), str(reply)
            assert "Sender address rejected" in reply.text
        assert client.command("DATA").code == 554  # no valid recipients
        assert client.command("RSET").code == 250
        assert client.command("NOOP").code == 250  # the session goes on
    assert backend.messages == 0
    # MAIL was tried again with the second recipient; the 503s to the RCPTs that came with the
    # refused MAILs were not taken for answers.
    mails = [line for chunk in backend.chunks for line in chunk if line.startswith("MAIL")]
    assert len(mails) == 2


def test_refused_sender_without_pipelining_is_heard_at_mail(start_gateway, chunk_backend):
    backend = chunk_backend(pipelining=False,
                            mail_reply=b"553 5.7.1 Sender address rejected\r\n")
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
        assert (reply.code, reply.enhanced) == (553, "5.7.1"), str(reply)
    assert backend.messages == 0


def test_recipient_taken_without_sender_closes_the_connection(start_gateway, chunk_backend):
    """A backend that refuses MAIL yet takes the RCPT that came with it is out of step: the
    client hears the refusal, and the next transaction gets a new backend connection."""
    backend = chunk_backend(pipelining=True, mail_reply=b"553 5.7.1 Sender address rejected\r\n",
                            rcpt_without_mail=True)
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<a@example.test>").code == 553
        assert client.command("RSET").code == 250
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<b@example.test>").code == 553
    assert backend.connections == 2
    assert backend.messages == 0


def test_chunking_without_pipelining_uses_data(start_gateway, chunk_backend):
    """BDAT chunks are written without waiting for each reply, which needs PIPELINING too."""
    backend = chunk_backend(pipelining=False, chunking=True)
    gw = start_gateway(backend=smtp_backend(backend.port, forward_client="off"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert send_message(client, SENDER, ["a@example.test"], CONTENT).code == 250
    assert backend.messages == 1
    assert ["DATA"] in backend.chunks
