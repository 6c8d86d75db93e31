"""A real SMTP (or LMTP) server on asyncio, in a thread of its own, that records every byte it
receives.

Tests program its answers through attributes (rcpt_replies, mail_reply, data_reply,
hang_after_data, ehlo_extra, xclient_reply, xforward_reply, lmtp_replies) and read what it saw
through sessions, transactions and the wait helpers. RecordingBackend(lmtp=True) speaks LMTP:
LHLO instead of EHLO, and one reply per accepted recipient after the final dot.
"""

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field

from smtp_text import dot_unstuff, envelope_address

HOSTNAME = "backend.test"
EHLO_KEYWORDS = ("PIPELINING", "8BITMIME", "SIZE 52428800", "ENHANCEDSTATUSCODES", "SMTPUTF8")
IDLE_TIMEOUT = 60.0  # seconds a connection may stay silent
HANG_LIMIT = 120.0  # the longest a hanging reply is held back
MAX_LINE = 1 << 20  # a longer line without LF ends the connection
MAX_DATA = 64 << 20  # octets of DATA before the connection is dropped


@dataclass
class Transaction:
    """One message received completely (up to the final '.')."""

    session: int
    helo: str
    mail_from: str  # raw argument after "MAIL FROM:", parameters included
    rcpts: list[str]  # addresses (inside <>) that this server accepted
    data_raw: bytes  # bytes between the 354 and the final ".\r\n", still dot-stuffed (BDAT:
    # the chunks as sent)
    data: bytes  # dot-unstuffed content
    reply: str = ""  # what the server answered to the final '.' ("" if it hung); LMTP: the
    # replies, one per recipient, joined by "\n"
    xclient: dict = field(default_factory=dict)  # XCLIENT attributes in force (decoded)
    xforward: dict = field(default_factory=dict)  # XFORWARD attributes of this transaction
    tls: bool = False  # received over TLS (after STARTTLS)

    @property
    def sender(self) -> str:
        return envelope_address(self.mail_from)


@dataclass
class Session:
    """One client connection: everything it sent, and the command lines among it."""

    number: int
    raw: bytearray = field(default_factory=bytearray)
    commands: list[str] = field(default_factory=list)
    closed: bool = False
    tls: bool = False  # STARTTLS succeeded
    xclient: dict = field(default_factory=dict)  # attributes of every XCLIENT accepted so far


def xtext_decode(text: str) -> str:
    """RFC 3461 xtext: "+XX" is the byte with hex value XX."""
    return re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def parse_attributes(argument: str) -> dict:
    """NAME=value pairs of an XCLIENT or XFORWARD command, names upper-cased, values decoded."""
    found = {}
    for item in argument.split():
        name, _, value = item.partition("=")
        found[name.upper()] = xtext_decode(value)
    return found


class RecordingBackend:
    """A recording SMTP (or LMTP) sink on 127.0.0.1, started and stopped by a fixture."""

    def __init__(self, lmtp: bool = False):
        self.lmtp = lmtp
        self.ehlo_extra: list[str] = []  # more EHLO keywords, e.g. "XCLIENT NAME ADDR PORT"
        self.xclient_reply = f"220 {HOSTNAME} ESMTP recording"  # to an advertised XCLIENT
        self.xforward_reply = "250 2.0.0 Ok"  # to an advertised XFORWARD
        self.lmtp_replies: dict[str, str] = {}  # LMTP: lowercased address -> final-dot reply
        self.rcpt_replies: dict[str, str] = {}  # lowercased address -> reply line
        self.mail_reply = "250 2.1.0 Ok"
        self.data_reply = "250 2.0.0 Ok: queued as ID{n}"  # {n}: transaction number
        self.greeting = f"220 {HOSTNAME} ESMTP recording"
        self.hang_after_data = False  # never answer the final '.'
        self.bdat_chunk_reply = ""  # set: the answer to every BDAT that is not LAST
        self.tls_context = None  # an ssl.SSLContext: STARTTLS is offered with it
        self.port = 0
        self.unix_path = None
        self._lock = threading.Condition()
        self._sessions: list[Session] = []
        self._transactions: list[Transaction] = []
        self._thread = None
        self._loop = None
        self._stopping = None
        self._ready = threading.Event()
        self._tasks: set = set()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 5.0, unix_path=None) -> "RecordingBackend":
        """Listens on a free 127.0.0.1 port, or on the unix socket unix_path when given."""
        self.unix_path = str(unix_path) if unix_path else None
        self._thread = threading.Thread(target=self._run, name="recording-backend", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or not (self.port or self.unix_path):
            raise RuntimeError("recording backend did not start")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._ready.set()
            self._loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        if self.unix_path:
            server = await asyncio.start_unix_server(self._accept, path=self.unix_path)
        else:
            server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=2.0)
            await asyncio.wait_for(server.wait_closed(), timeout=2.0)

    async def _accept(self, reader, writer) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        with self._lock:
            session = Session(number=len(self._sessions) + 1)
            self._sessions.append(session)
            self._lock.notify_all()
        try:
            await _Connection(self, session, reader, writer).run()
        except (asyncio.CancelledError, ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()
            with self._lock:
                session.closed = True
                self._lock.notify_all()
            self._tasks.discard(task)

    # --- what the tests read ---------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    @property
    def sessions(self) -> list[Session]:
        with self._lock:
            return list(self._sessions)

    @property
    def transactions(self) -> list[Transaction]:
        with self._lock:
            return list(self._transactions)

    def commands(self, verb: str = "") -> list[str]:
        """Every command line received, in order, optionally only those starting with verb."""
        with self._lock:
            lines = [line for s in self._sessions for line in s.commands]
        return [line for line in lines if line.upper().startswith(verb.upper())]

    def rcpt_addresses(self) -> list[str]:
        """The address of every RCPT TO received, accepted or not."""
        return [envelope_address(line[8:]) for line in self.commands("RCPT TO:")]

    def clear(self) -> None:
        """Forgets what was recorded so far (for fixtures shared by several tests)."""
        with self._lock:
            self._sessions.clear()
            self._transactions.clear()

    def wait_for_transactions(self, count: int, timeout: float = 5.0) -> list[Transaction]:
        return self._wait(lambda: len(self._transactions) >= count, timeout,
                          f"{count} transaction(s)", lambda: list(self._transactions))

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> list[Session]:
        return self._wait(lambda: len(self._sessions) >= count, timeout,
                          f"{count} connection(s)", lambda: list(self._sessions))

    def wait_for_closed(self, count: int, timeout: float = 5.0) -> list[Session]:
        """Waits until `count` connections have ended."""
        return self._wait(lambda: sum(s.closed for s in self._sessions) >= count, timeout,
                          f"{count} closed connection(s)", lambda: list(self._sessions))

    def wait_for_command(self, prefix: str, timeout: float = 5.0) -> list[str]:
        def seen():
            return any(c.upper().startswith(prefix.upper())
                       for s in self._sessions for c in s.commands)
        return self._wait(seen, timeout, f"a command {prefix!r}", lambda: self.commands(prefix))

    def _wait(self, done, timeout, what, result):
        deadline = time.monotonic() + timeout
        with self._lock:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c for s in self._sessions for c in s.commands]
                    raise AssertionError(f"backend: no {what} within {timeout}s; commands: {seen}")
                self._lock.wait(remaining)
            return result()

    # --- called from the connection handlers -----------------------------------------------

    def _record(self, transaction: Transaction) -> int:
        with self._lock:
            self._transactions.append(transaction)
            self._lock.notify_all()
            return len(self._transactions)

    def _note_command(self, session: Session, line: str) -> None:
        with self._lock:
            session.commands.append(line)
            self._lock.notify_all()


class _Connection:
    """The server side of one SMTP session; answers each command as soon as it is read."""

    def __init__(self, server: RecordingBackend, session: Session, reader, writer):
        self.server = server
        self.session = session
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()
        self.chunks = bytearray()  # BDAT chunks of the message in progress
        self.chunks_refused = False
        self.helo = ""
        self.mail_from = None
        self.rcpts: list[str] = []
        self.xforward: dict = {}

    async def run(self) -> None:
        await self.reply(self.server.greeting)
        for _ in range(100_000):  # commands per connection
            line = await self.read_line()
            if line is None:
                return
            text = line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
            self.server._note_command(self.session, text)
            if not await self.dispatch(text):
                return

    def advertised(self, verb: str) -> bool:
        return any(keyword.split()[0].upper() == verb for keyword in self.server.ehlo_extra)

    async def dispatch(self, text: str) -> bool:
        verb = text.split(" ", 1)[0].upper()
        argument = text[len(verb):].strip()
        greeting_verbs = ("LHLO",) if self.server.lmtp else ("EHLO", "HELO")
        if verb in greeting_verbs:
            self.helo, self.mail_from, self.rcpts, self.xforward = argument, None, [], {}
            if verb == "HELO":
                await self.reply(f"250 {HOSTNAME}")
            else:
                keywords = (*EHLO_KEYWORDS, *self.server.ehlo_extra)
                if self.server.tls_context is not None and not self.session.tls:
                    keywords = (*keywords, "STARTTLS")
                lines = [f"250-{x}" for x in (HOSTNAME, *keywords)]
                lines[-1] = "250 " + lines[-1][4:]
                await self.reply("\r\n".join(lines))
        elif verb == "XCLIENT" and self.advertised("XCLIENT"):
            reply = self.server.xclient_reply
            if self.mail_from is not None:
                reply = "503 5.5.1 Error: MAIL transaction in progress"
            elif reply.startswith("2"):
                with self.server._lock:
                    self.session.xclient.update(parse_attributes(argument))
                self.helo, self.xforward = "", {}  # back to the greeting stage
            await self.reply(reply)
        elif verb == "XFORWARD" and self.advertised("XFORWARD"):
            reply = self.server.xforward_reply
            if self.mail_from is not None:
                reply = "503 5.5.1 Error: MAIL transaction in progress"
            elif reply.startswith("250"):
                self.xforward.update(parse_attributes(argument))
            await self.reply(reply)
        elif verb == "MAIL":
            await self.mail(text)
        elif verb == "RCPT":
            await self.rcpt(text)
        elif verb == "DATA":
            return await self.data()
        elif verb == "BDAT" and self.advertised("CHUNKING"):
            return await self.bdat(argument)
        elif verb == "RSET":
            self.mail_from, self.rcpts, self.xforward = None, [], {}
            self.chunks = bytearray()
            await self.reply("250 2.0.0 Ok")
        elif verb == "NOOP":
            await self.reply("250 2.0.0 Ok")
        elif verb == "VRFY":
            await self.reply("252 2.0.0 Cannot VRFY user")
        elif verb == "STARTTLS" and self.server.tls_context is not None and not self.session.tls:
            return await self.starttls()
        elif verb == "QUIT":
            await self.reply("221 2.0.0 Bye")
            return False
        else:
            await self.reply("502 5.5.2 Error: command not recognized")
        return True

    async def starttls(self) -> bool:
        """RFC 3207: 220, the handshake, and a fresh session state (pipelined bytes dropped)."""
        # No await between the 220 and start_tls, which stops plain reads at once: a client
        # hello read as plain text in between would be lost to the TLS layer.
        self.writer.write(b"220 2.0.0 Ready to start TLS\r\n")
        self.buffer.clear()
        try:
            await asyncio.wait_for(self.writer.start_tls(self.server.tls_context), IDLE_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as error:  # ssl.SSLError is an OSError
            self.server._note_command(self.session, f"(TLS handshake failed: {error})")
            return False
        self.session.tls = True
        self.helo, self.mail_from, self.rcpts = "", None, []
        return True

    async def mail(self, text: str) -> None:
        if not self.helo:
            await self.reply("503 5.5.1 Error: send HELO/EHLO first")
        elif self.mail_from is not None:
            await self.reply("503 5.5.1 Error: nested MAIL command")
        elif not text.upper().startswith("MAIL FROM:"):
            await self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
        else:
            reply = self.server.mail_reply
            if reply.startswith("2"):
                self.mail_from, self.rcpts = text[10:].strip(), []
            await self.reply(reply)

    async def rcpt(self, text: str) -> None:
        if self.mail_from is None:
            await self.reply("503 5.5.1 Error: need MAIL command")
        elif not text.upper().startswith("RCPT TO:"):
            await self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
        else:
            address = envelope_address(text[8:])
            reply = self.server.rcpt_replies.get(address.lower(), "250 2.1.5 Ok")
            if reply.startswith("2"):
                self.rcpts.append(address)
            await self.reply(reply)

    async def data(self) -> bool:
        if self.mail_from is None:
            await self.reply("503 5.5.1 Error: need MAIL command")
            return True
        if not self.rcpts:
            await self.reply("554 5.5.1 Error: no valid recipients")
            return True
        await self.reply("354 End data with <CR><LF>.<CR><LF>")
        data_raw = await self.read_data()
        if data_raw is None:
            return False  # the client left before the final '.': nothing is recorded
        return await self.finish_message(data_raw, dot_unstuff(data_raw))

    async def bdat(self, argument: str) -> bool:
        """RFC 3030: BDAT size [LAST], then exactly size octets; every chunk gets a reply, the
        LAST one the message's. The chunks go into the transaction's data (data_raw too)."""
        parts = argument.split()
        if not parts or not parts[0].isdigit() or len(parts) > 2 or \
                (len(parts) == 2 and parts[1].upper() != "LAST"):
            await self.reply("501 5.5.4 Syntax: BDAT size [LAST]")
            return True
        size, last = int(parts[0]), len(parts) == 2
        chunk = await self.read_exactly(size)
        if chunk is None:
            return False  # the client left inside a chunk: nothing is recorded
        self.server._note_command(self.session, f"(BDAT chunk of {size} octets)")
        if self.mail_from is None or not self.rcpts:
            await self.reply("503 5.5.1 Error: need MAIL and RCPT commands")
            return True
        self.chunks += chunk
        if not last:
            refusal = self.server.bdat_chunk_reply
            if refusal:
                self.chunks_refused = True
            await self.reply(refusal or f"250 2.0.0 {size} octets received")
            return True
        content, self.chunks = bytes(self.chunks), bytearray()
        if self.chunks_refused:  # RFC 3030: a refused chunk fails the transaction
            self.chunks_refused = False
            self.mail_from, self.rcpts, self.xforward = None, [], {}
            await self.reply("554 5.5.0 Error: an earlier BDAT failed")
            return True
        return await self.finish_message(content, content)

    async def read_exactly(self, size: int):
        if size > MAX_DATA:
            return None
        while len(self.buffer) < size:
            chunk = await asyncio.wait_for(self.reader.read(65536), IDLE_TIMEOUT)
            if not chunk:
                return None
            self.session.raw += chunk
            self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def finish_message(self, data_raw: bytes, data: bytes) -> bool:
        """Records the message just received and answers it (once per recipient for LMTP)."""
        with self.server._lock:
            xclient = dict(self.session.xclient)
        transaction = Transaction(self.session.number, self.helo, self.mail_from,
                                  list(self.rcpts), data_raw, data,
                                  xclient=xclient, xforward=dict(self.xforward),
                                  tls=self.session.tls)
        self.mail_from, self.rcpts, self.xforward = None, [], {}
        if self.server.hang_after_data:
            self.server._record(transaction)
            await asyncio.wait_for(self.server._stopping.wait(), HANG_LIMIT)
            return False
        with self.server._lock:
            number = len(self.server._transactions) + 1
        default = self.server.data_reply.replace("{n}", str(number))
        if self.server.lmtp:
            replies = [self.server.lmtp_replies.get(rcpt.lower(), default)
                       for rcpt in transaction.rcpts]
            transaction.reply = "\n".join(replies)
            self.server._record(transaction)
            for reply in replies:
                await self.reply(reply)
            return True
        transaction.reply = default
        self.server._record(transaction)
        await self.reply(transaction.reply)
        return True

    async def read_data(self):
        """Lines up to CRLF '.' CRLF (only that ends DATA), or None at end of stream."""
        data = bytearray()
        for _ in range(MAX_DATA):
            line = await self.read_line()
            if line is None:
                return None
            at_line_start = not data or data.endswith(b"\r\n")
            if line == b".\r\n" and at_line_start:
                return bytes(data)
            data += line
            if len(data) > MAX_DATA:
                return None
        return None

    async def read_line(self):
        """The next line including its LF, or None at end of stream."""
        for _ in range(MAX_LINE):
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > MAX_LINE:
                return None
            chunk = await asyncio.wait_for(self.reader.read(65536), IDLE_TIMEOUT)
            if not chunk:
                return None
            self.session.raw += chunk
            self.buffer += chunk
        return None

    async def reply(self, text: str) -> None:
        self.writer.write(text.encode("utf-8") + b"\r\n")
        await asyncio.wait_for(self.writer.drain(), IDLE_TIMEOUT)
