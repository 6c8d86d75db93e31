"""A raw SMTP client for exact bytes and malformed input, plus smtplib for well-formed sessions."""

import re
import smtplib
import socket
import time
from dataclasses import dataclass

from smtp_text import dot_stuff

_REPLY_LINE = re.compile(r"^(\d{3})([ -]?)(.*)$", re.S)
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?=\s|$)")
MAX_REPLY_LINES = 200
MAX_LINE = 65536


class ConnectionClosed(Exception):
    """The server closed the connection before a complete reply."""


class ReplyTimeout(Exception):
    """No complete reply within the timeout."""


@dataclass
class Reply:
    code: int
    lines: list[str]  # the text after "NNN-" or "NNN "
    raw: bytes

    @property
    def enhanced(self) -> str:
        match = _ENHANCED.match(self.lines[0])
        return match.group(1) if match else ""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.raw.decode("utf-8", "replace").rstrip()


class RawClient:
    """Sends bytes exactly as given; reads replies, each bounded by a timeout."""

    def __init__(self, port: int, timeout: float = 5.0, host: str = "127.0.0.1",
                 source: str = None):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.buffer = bytearray()
        self.eof = False

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def command(self, line, timeout: float = None) -> Reply:
        """Sends one command (str: CRLF appended; bytes: as they are) and reads the reply."""
        self.send(line.encode("utf-8") + b"\r\n" if isinstance(line, str) else line)
        return self.read_reply(timeout)

    def greeting(self, timeout: float = None) -> Reply:
        return self.read_reply(timeout)

    def ehlo(self, name: str = "client.example") -> Reply:
        return self.command(f"EHLO {name}")

    def read_reply(self, timeout: float = None) -> Reply:
        """One reply, multi-line until a line whose code is followed by a space (or nothing)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        raw, lines = b"", []
        for _ in range(MAX_REPLY_LINES):
            line = self._read_line(deadline)
            raw += line
            if not line.endswith(b"\r\n"):
                raise AssertionError(f"reply line not ended by CRLF: {line!r}")
            match = _REPLY_LINE.match(line[:-2].decode("utf-8", "replace"))
            if not match:
                raise AssertionError(f"malformed reply line: {line!r}")
            lines.append(match.group(3))
            if match.group(2) != "-":
                return Reply(int(match.group(1)), lines, raw)
        raise AssertionError(f"reply longer than {MAX_REPLY_LINES} lines: {raw[:200]!r}")

    def has_data(self, wait: float = 0.5) -> bool:
        """True if bytes are waiting to be read, or arrive within `wait` seconds."""
        if not self.buffer and not self.eof:
            self._recv(time.monotonic() + wait, quiet=True)
        return bool(self.buffer)

    def pending(self, wait: float = 0.5) -> bytes:
        """Whatever the server sends within `wait` seconds (b"" if nothing; stops at close)."""
        deadline = time.monotonic() + wait
        for _ in range(1000):
            if self.eof or not self._recv(deadline, quiet=True):
                break
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True once the server has closed the connection (data before it is discarded)."""
        deadline = time.monotonic() + timeout
        for _ in range(10000):
            if self.eof:
                return True
            if not self._recv(deadline, quiet=True) and not self.eof:
                return False
            self.buffer.clear()
        return self.eof

    def _read_line(self, deadline: float) -> bytes:
        for _ in range(100000):
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > MAX_LINE:
                raise AssertionError(f"reply line longer than {MAX_LINE} octets")
            if self.eof or not self._recv(deadline):
                raise ConnectionClosed(f"connection closed; unfinished: {bytes(self.buffer)!r}")
        raise AssertionError("reply line not found")

    def _recv(self, deadline: float, quiet: bool = False) -> bool:
        """Reads one chunk; False at end of stream (or, when quiet, at the deadline)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if quiet:
                return False
            raise ReplyTimeout(f"no complete reply in time; received: {bytes(self.buffer)!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            if quiet:
                return False
            raise ReplyTimeout(f"no complete reply in time; received: {bytes(self.buffer)!r}")
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True


def open_session(client: RawClient, name: str = "client.example") -> None:
    """Reads the greeting and says EHLO, asserting both succeed."""
    greeting = client.greeting()
    assert greeting.code == 220, str(greeting)
    reply = client.ehlo(name)
    assert reply.code == 250, str(reply)


def send_message(client: RawClient, sender: str, rcpts: list[str], content: bytes,
                 mail_params: str = "") -> Reply:
    """MAIL, RCPTs, DATA (asserting 250/250/354), then the dot-stuffed content; the final reply."""
    reply = client.command(f"MAIL FROM:<{sender}>{mail_params}")
    assert reply.code == 250, str(reply)
    for rcpt in rcpts:
        reply = client.command(f"RCPT TO:<{rcpt}>")
        assert reply.code == 250, f"RCPT {rcpt}: {reply}"
    reply = client.command("DATA")
    assert reply.code == 354, str(reply)
    client.send(dot_stuff(content) + b".\r\n")
    return client.read_reply()


def send_raw_data(port: int, sender: str, rcpt: str, wire: bytes, wait: float = 0.5):
    """Opens a transaction, sends wire exactly after the 354; returns the reply and whatever
    else arrives within `wait` seconds."""
    with RawClient(port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{sender}>").code == 250
        assert client.command(f"RCPT TO:<{rcpt}>").code == 250
        assert client.command("DATA").code == 354
        client.send(wire)
        reply = client.read_reply()
        return reply, client.pending(wait)


def smtp(port: int, timeout: float = 10.0) -> smtplib.SMTP:
    """A well-formed smtplib client session to 127.0.0.1:port."""
    return smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=timeout)
