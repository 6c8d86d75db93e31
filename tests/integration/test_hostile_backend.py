"""A misbehaving backend must never make mailgate lose mail (DESIGN.md guarantee 2).

Each test points mailgate at a scripted backend that breaks the protocol in one way (garbage,
mismatched multi-line replies, an extra reply line, 250 instead of 354, closing mid-DATA, never
greeting, 421 on an idle kept connection, ...) and then checks the converse of "250 only after
the backend's 250": whenever the client gets 2xx to the final dot, the backend has accepted
exactly that message once; whenever it does not, the backend has accepted nothing of it. Every
non-2xx reply carries an enhanced status code of its own class.
"""

import socket
import threading
import time

import pytest

from mailgate_process import smtp_backend
from smtp_client import RawClient, Reply, open_session, send_message
from smtp_text import wire_problems

SENDER = "sender@remote.example"
EHLO_OK = (b"250-backend.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n"
           b"250 ENHANCEDSTATUSCODES\r\n")
EHLO_CHUNKING = EHLO_OK.replace(b"250 ENHANCEDSTATUSCODES", b"250-ENHANCEDSTATUSCODES\r\n250 CHUNKING")
LINE_TIMEOUT = 15.0  # the longest the scripted backend waits for one line from mailgate
MAX_COMMANDS = 1000  # commands per backend connection


# --- a scripted backend ------------------------------------------------------------------------

class BackendConnection:
    """One connection to the scripted backend, served in a thread of its own."""

    def __init__(self, sock: socket.socket, number: int, stopping: threading.Event):
        self.sock = sock
        self.number = number
        self.stopping = stopping
        self.raw = bytearray()
        self.buffer = bytearray()
        self.commands: list[str] = []
        self.chunks = bytearray()  # BDAT chunks of the message in progress

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def read_line(self, timeout: float = LINE_TIMEOUT):
        """One line with its LF, or None if the connection ends first."""
        def line():
            end = self.buffer.find(b"\n")
            return None if end < 0 else end + 1
        return self._read_until(line, timeout)

    def read_exactly(self, size: int, timeout: float = LINE_TIMEOUT):
        """`size` octets (a BDAT chunk), or None if the connection ends first."""
        return self._read_until(lambda: size if len(self.buffer) >= size else None, timeout)

    def _read_until(self, ready, timeout: float):
        """Reads until ready() gives how many buffered octets to take; those octets, or None at
        the timeout, when stopping or when the connection ends."""
        deadline = time.monotonic() + timeout
        for _ in range(100_000):
            take = ready()
            if take is not None:
                data = bytes(self.buffer[:take])
                del self.buffer[:take]
                return data
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.stopping.is_set():
                return None
            self.sock.settimeout(min(remaining, 0.5))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            self.raw += chunk
            self.buffer += chunk
        return None

    def read_data(self):
        """The dot-stuffed lines up to CRLF.CRLF, or None if the connection ends first."""
        data = bytearray()
        for _ in range(1_000_000):
            line = self.read_line()
            if line is None:
                return None
            if line == b".\r\n" and (not data or data.endswith(b"\r\n")):
                return bytes(data)
            data += line
        return None


class ScriptedBackend:
    """A lockstep SMTP server on 127.0.0.1 whose answers a test bends.

    greeting: bytes sent on connect (None: never greet).
    replies[VERB]: canned answers consumed in order before the default answer; "close" drops
    the connection instead of answering.
    final_replies: answers to the final dot, consumed in order (default 250 2.0.0).
    after_final: called with the connection after each answer to the final dot; returning
    "close" drops the connection.
    stall_after_354: stop reading once DATA is answered (a backend that never drains).
    drop_mid_data: close the connection after the first line of the message.
    """

    def __init__(self):
        self.greeting = b"220 backend.test ESMTP scripted\r\n"
        self.replies: dict[str, list] = {}
        self.final_replies: list = []
        self.after_final = None
        self.stall_after_354 = False
        self.drop_mid_data = False
        self.ehlo_reply = EHLO_OK
        self.received: list[bytes] = []  # complete messages (dot-stuffed), answered or not
        self.accepted: list[bytes] = []  # messages answered with 2xx
        self.connections: list[BackendConnection] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self._threads[0].start()

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.sock.close()
            except OSError:
                pass
        for thread in list(self._threads):
            thread.join(2.0)

    def commands(self) -> list[str]:
        with self._lock:
            return [c for connection in self.connections for c in connection.commands]

    def _accept_loop(self) -> None:
        for _ in range(10_000):
            if self._stopping.is_set():
                return
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                connection = BackendConnection(sock, len(self.connections) + 1, self._stopping)
                self.connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _canned(self, verb: str):
        with self._lock:
            queue = self.replies.get(verb)
            return queue.pop(0) if queue else None

    def _serve(self, connection: BackendConnection) -> None:
        try:
            if self.greeting is None:
                self._stopping.wait(LINE_TIMEOUT)
                return
            connection.send(self.greeting)
            for _ in range(MAX_COMMANDS):
                line = connection.read_line()
                if line is None:
                    return
                text = line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
                connection.commands.append(text)
                if not self._answer(connection, text.split(" ", 1)[0].upper()):
                    return
        finally:
            try:
                connection.sock.close()
            except OSError:
                pass

    def _answer(self, connection: BackendConnection, verb: str) -> bool:
        canned = self._canned(verb)
        if canned == "close":
            return False
        if verb == "BDAT":
            words = connection.commands[-1].split()
            chunk = connection.read_exactly(int(words[1]))
            if chunk is None:
                return False
            connection.chunks += chunk
            if words[-1].upper() != "LAST":
                connection.send(canned if canned is not None else b"250 2.0.0 chunk\r\n")
                return True
            data, connection.chunks = bytes(connection.chunks), bytearray()
            return self._finish(connection, data)
        if verb == "DATA":
            go_ahead = canned if canned is not None else b"354 go ahead\r\n"
            connection.send(go_ahead)
            if not go_ahead.startswith(b"354"):
                return True
            if self.stall_after_354:
                self._stopping.wait(LINE_TIMEOUT)
                return False
            if self.drop_mid_data:
                connection.read_line()
                return False
            data = connection.read_data()
            if data is None:
                return False
            return self._finish(connection, data)
        if canned is not None:
            connection.send(canned)
        elif verb == "EHLO":
            connection.send(self.ehlo_reply)
        elif verb == "HELO":
            connection.send(b"250 backend.test\r\n")
        elif verb == "QUIT":
            connection.send(b"221 2.0.0 bye\r\n")
            return False
        elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
            connection.send(b"250 2.0.0 ok\r\n")
        else:
            connection.send(b"502 5.5.2 unknown command\r\n")
        return True

    def _finish(self, connection: BackendConnection, data: bytes) -> bool:
        """Records a complete message (after the final dot or BDAT LAST) and answers it."""
        with self._lock:
            self.received.append(data)
            final = self.final_replies.pop(0) if self.final_replies else b"250 2.0.0 queued\r\n"
        if final == "close":
            return False
        if final[:1] == b"2":
            with self._lock:
                self.accepted.append(data)
        connection.send(final)
        return not (self.after_final and self.after_final(connection) == "close")


@pytest.fixture
def scripted():
    server = ScriptedBackend()
    try:
        yield server
    finally:
        server.stop()


def gateway_to(start_gateway, *ports, **timeouts):
    settings = {"connect_timeout": "1s", "command_timeout": "1s", "data_timeout": "2s"}
    settings.update(timeouts)
    return start_gateway(backend=smtp_backend(*ports, **settings))


# --- one client session, and the no-loss check -------------------------------------------------

def marker(number: int) -> bytes:
    return f"hostile-backend-message-{number}-{time.monotonic_ns()}".encode()


def send_transactions(port: int, count: int, pause: float = 0.2, timeout: float = 8.0):
    """count transactions on one client connection; (marker, reply to the final dot or None)."""
    results = []
    with RawClient(port, timeout=timeout) as client:
        open_session(client)
        for number in range(count):
            if number:
                time.sleep(pause)
            tag = marker(number)
            reply = client.command(f"MAIL FROM:<{SENDER}>")
            if reply.code == 250:
                reply = client.command(f"RCPT TO:<user{number}@example.test>")
            if reply.code == 250:
                reply = client.command("DATA")
            if reply.code != 354:
                assert_enhanced(reply)
                results.append((tag, None))
                client.command("RSET")
                continue
            client.send(b"Subject: " + tag + b"\r\n\r\nbody " + tag + b"\r\n.\r\n")
            results.append((tag, client.read_reply()))
        client.command("QUIT")
    return results


def assert_enhanced(reply: Reply) -> None:
    assert reply.enhanced[:1] == str(reply.code)[0], f"no enhanced code of its class: {reply}"


def assert_no_loss(results, backend: ScriptedBackend, settle: float = 0.5) -> None:
    """Client 2xx <=> exactly one accepted copy at the backend; else none accepted."""
    time.sleep(settle)
    with backend._lock:
        accepted = list(backend.accepted)
        received = list(backend.received)
    for data in received:
        assert wire_problems(data, max_line=1001) == [], data[:200]
    for tag, reply in results:
        copies = sum(tag in data for data in accepted)
        if reply is not None and reply.code // 100 == 2:
            assert copies == 1, (f"client got '{reply}' for {tag!r} but the backend accepted "
                                 f"{copies} copies; backend commands: {backend.commands()}")
        else:
            assert copies == 0, f"client got '{reply}' for {tag!r} but the backend accepted it"
            if reply is not None:
                assert_enhanced(reply)


# --- a backend that answers the wrong thing ----------------------------------------------------

def test_data_answered_250_instead_of_354(start_gateway, scripted):
    """A backend answering DATA with 250 (no 354) never got the message: no 250 to the client."""
    scripted.replies["DATA"] = [b"250 2.0.0 ok\r\n"]
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 1)
    assert_no_loss(results, scripted)
    (_, reply), = results
    assert reply.code // 100 == 4, str(reply)


def test_ehlo_reply_with_every_line_final(start_gateway, scripted):
    """A multi-line EHLO reply written with "250 " on every line (a broken but real-world
    formatting) must not shift later replies onto later commands."""
    scripted.ehlo_reply = (b"250 backend.test\r\n250 PIPELINING\r\n250 8BITMIME\r\n"
                           b"250 ENHANCEDSTATUSCODES\r\n")
    gw = gateway_to(start_gateway, scripted.port)
    assert_no_loss(send_transactions(gw.port, 2), scripted)


def test_greeting_with_every_line_final(start_gateway, scripted):
    """A two-line greeting written as two final lines ("220 a", "220 b") must not desynchronise."""
    scripted.greeting = b"220 backend.test first\r\n220 backend.test second\r\n"
    gw = gateway_to(start_gateway, scripted.port)
    assert_no_loss(send_transactions(gw.port, 2), scripted)


def test_rcpt_answered_twice(start_gateway, scripted):
    """An extra reply line after RCPT's answer is never taken as the answer to DATA or the dot."""
    scripted.replies["RCPT"] = [b"250 2.1.5 ok\r\n250 2.1.5 ok again\r\n"]
    gw = gateway_to(start_gateway, scripted.port)
    assert_no_loss(send_transactions(gw.port, 2), scripted)


def test_extra_line_after_final_reply(start_gateway, scripted):
    """An extra reply after the final 250 must not answer the next message on the kept link."""
    scripted.final_replies = [b"250 2.0.0 queued\r\n250 2.0.0 and something else\r\n"]
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 3)
    assert_no_loss(results, scripted)
    assert results[0][1].code == 250, str(results[0][1])


def test_early_final_reply_before_message(start_gateway, scripted):
    """A 250 sent together with the 354 (before the message) is not the answer to the message."""
    scripted.replies["DATA"] = [b"354 go ahead\r\n250 2.0.0 too early\r\n"]
    scripted.final_replies = [b"554 5.7.1 rejected after all\r\n"]
    gw = gateway_to(start_gateway, scripted.port)
    assert_no_loss(send_transactions(gw.port, 2), scripted)


@pytest.mark.parametrize("final", [
    b"hello, this is not SMTP\r\n",
    b"550-5.7.1 first line\r\n250 2.0.0 second line of another code\r\n",
    b"354 go ahead again\r\n",
    b"199 too low\r\n",
    b"550" + b"x" * 70000 + b"\r\n",
], ids=["garbage", "mismatched-multiline", "3xx", "1xx", "endless-line"])
def test_bad_final_reply_tempfails(start_gateway, scripted, final):
    """Nonsense after the final dot gives the client a 4xx with an enhanced code. (None of these
    starts with 2: with an ambiguous answer the backend may have kept the message, and a 4xx
    then risks a duplicate, never a loss.)"""
    scripted.final_replies = [final]
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 1)
    assert_no_loss(results, scripted)
    (_, reply), = results
    assert reply.code // 100 == 4, str(reply)


@pytest.mark.parametrize("verb,answer", [
    ("MAIL", b"354 what\r\n"), ("RCPT", b"354 what\r\n"), ("RCPT", b"garbage\r\n"),
    ("MAIL", b"250-ok\r\n551 mismatched\r\n"),
], ids=["3xx-mail", "3xx-rcpt", "garbage-rcpt", "mismatched-mail"])
def test_bad_envelope_reply_tempfails(start_gateway, scripted, verb, answer):
    """A 3xx, garbage or mismatched multi-line reply to MAIL/RCPT is a 4xx for the client."""
    scripted.replies[verb] = [answer]
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 2)
    assert_no_loss(results, scripted)
    assert results[0][1] is None


def test_final_reply_without_enhanced_code_gets_one(start_gateway, scripted):
    """A backend without ENHANCEDSTATUSCODES: the client still gets a code of the right class."""
    scripted.final_replies = [b"554 rejected\r\n", b"452 try later\r\n", b"250 queued\r\n"]
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 3)
    assert_no_loss(results, scripted)
    assert [(r.code, r.enhanced[:1]) for _, r in results] == [(554, "5"), (452, "4"), (250, "2")]


# --- a backend that goes away ------------------------------------------------------------------

def test_backend_closes_mid_data(start_gateway, scripted):
    """The backend drops the connection after the message, before answering: 4xx, then recovery."""
    scripted.final_replies = ["close"]
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 2)
    assert_no_loss(results, scripted)
    assert results[0][1].code // 100 == 4, str(results[0][1])
    assert results[1][1].code == 250, str(results[1][1])


def test_backend_drops_connection_mid_message(start_gateway, scripted):
    """The backend hangs up after the first line of the message: 4xx, nothing accepted, and the
    next message goes through a fresh connection."""
    scripted.drop_mid_data = True
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 1)
    assert_no_loss(results, scripted)
    assert results[0][1].code // 100 == 4, str(results[0][1])
    scripted.drop_mid_data = False
    results = send_transactions(gw.port, 1)
    assert_no_loss(results, scripted)
    assert results[0][1].code == 250, str(results[0][1])


def test_backend_closes_after_rcpt(start_gateway, scripted):
    """The backend drops the connection when DATA comes: the client gets a 4xx, nothing is lost."""
    scripted.replies["DATA"] = ["close"]
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 1)
    assert_no_loss(results, scripted)


def test_backend_never_drains_message(start_gateway, scripted):
    """A backend that stops reading after 354 (window full): 4xx after data_timeout, no hang."""
    scripted.stall_after_354 = True
    gw = gateway_to(start_gateway, scripted.port, data_timeout="2s")
    started = time.monotonic()
    with RawClient(gw.port, timeout=10) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<user@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 4096 + b".\r\n")
        reply = client.read_reply(timeout=10)
    assert reply.code // 100 == 4 and reply.enhanced.startswith("4."), str(reply)
    assert time.monotonic() - started < 8
    assert scripted.accepted == []


def test_backend_silently_closes_kept_connection(start_gateway, scripted):
    """The backend closes the kept connection between two messages: the second still gets in."""
    scripted.after_final = lambda connection: "close"
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 2)
    assert_no_loss(results, scripted)
    assert [r.code for _, r in results] == [250, 250]


def test_backend_421_on_kept_connection(start_gateway, scripted):
    """Postfix's idle timeout: "421 4.4.2 timeout" then close on the kept connection. mailgate must
    recover with a fresh connection, not hand the stale 421 to the client's next MAIL."""

    def idle_timeout(connection):
        connection.send(b"421 4.4.2 backend.test Error: timeout exceeded\r\n")
        return "close"

    scripted.after_final = idle_timeout
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 2, pause=0.5)
    assert_no_loss(results, scripted)
    assert [r and r.code for _, r in results] == [250, 250], [str(r) for _, r in results]


# --- a backend that will not talk --------------------------------------------------------------

def test_backend_never_greets(start_gateway, scripted):
    """A backend that accepts but never greets: MAIL gets 451 4.4.x within the timeouts."""
    scripted.greeting = None
    gw = gateway_to(start_gateway, scripted.port)
    started = time.monotonic()
    with RawClient(gw.port, timeout=8) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
    assert reply.code == 451 and reply.enhanced.startswith("4.4."), str(reply)
    assert time.monotonic() - started < 6


def test_backend_greeting_554_fails_over(start_gateway, backend, scripted):
    """A backend greeting 554 is skipped; the next server in the list takes the message."""
    scripted.greeting = b"554 5.3.2 backend.test not accepting mail\r\n"
    gw = gateway_to(start_gateway, scripted.port, backend.port)
    results = send_transactions(gw.port, 1)
    (tag, reply), = results
    assert reply.code == 250, str(reply)
    (tx,) = backend.wait_for_transactions(1)
    assert tag in tx.data and wire_problems(tx.data_raw, max_line=1001) == []
    assert scripted.accepted == []


def test_backend_greeting_554_only(start_gateway, scripted):
    """With the only backend greeting 554, the client gets 451 4.4.1, never a 5xx or a 250."""
    scripted.greeting = b"554 5.3.2 backend.test not accepting mail\r\n"
    gw = gateway_to(start_gateway, scripted.port)
    with RawClient(gw.port, timeout=8) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
    assert (reply.code, reply.enhanced) == (451, "4.4.1"), str(reply)


def test_utf8_envelope_not_sent_to_backend_without_smtputf8(start_gateway, scripted):
    """RFC 6531 3.4: a UTF-8 envelope is never sent to a backend that did not offer SMTPUTF8
    (the scripted backend does not); the client gets a 5.6.7 refusal instead of a 250."""
    gw = gateway_to(start_gateway, scripted.port)
    with RawClient(gw.port, timeout=8) as client:
        open_session(client)
        replies = [client.command(f"MAIL FROM:<{SENDER}> SMTPUTF8")]
        if replies[-1].code == 250:
            replies.append(client.command("RCPT TO:<jürgen@example.test>"))
        if replies[-1].code == 250:
            replies.append(client.command("DATA"))
        if replies[-1].code == 354:
            client.send("Subject: ü\r\n\r\nü\r\n.\r\n".encode())
            replies.append(client.read_reply())
    assert not any(ord(ch) > 127 for command in scripted.commands() for ch in command), \
        scripted.commands()
    assert replies[-1].code // 100 == 5 and replies[-1].enhanced == "5.6.7", \
        [str(r) for r in replies]


# --- the same over BDAT (RFC 3030), when the backend offers CHUNKING ----------------------------

@pytest.mark.parametrize("final", [
    b"hello, this is not SMTP\r\n",
    b"354 go ahead again\r\n",
    b"550-5.7.1 first line\r\n250 2.0.0 second line of another code\r\n",
    "close",
], ids=["garbage", "3xx", "mismatched-multiline", "close"])
def test_bad_answer_to_bdat_last_tempfails(start_gateway, scripted, final):
    scripted.ehlo_reply = EHLO_CHUNKING
    scripted.final_replies = [final]
    gw = gateway_to(start_gateway, scripted.port)
    results = send_transactions(gw.port, 2)
    assert_no_loss(results, scripted)
    assert results[0][1] is None or results[0][1].code // 100 == 4, str(results[0][1])
    assert results[1][1] is not None and results[1][1].code == 250, str(results[1][1])
    assert any(c.startswith("BDAT ") for c in scripted.commands())


def test_connection_dropped_between_bdat_chunks(start_gateway, scripted):
    """The backend goes away after the first chunk of a big message: nothing is delivered and
    the client gets a 4xx; its next message goes through a new connection."""
    scripted.ehlo_reply = EHLO_CHUNKING
    scripted.replies["BDAT"] = ["close"]
    gw = gateway_to(start_gateway, scripted.port)
    with RawClient(gw.port, timeout=8.0) as client:
        open_session(client)
        big = b"Subject: big\r\n\r\n" + b"".join(b"x" * 98 + b"\r\n" for _ in range(6000))
        reply = send_message(client, SENDER, ["user0@example.test"], big)
        assert reply.code // 100 == 4, str(reply)
        assert_enhanced(reply)
        small = b"Subject: small\r\n\r\nx\r\n"
        reply = send_message(client, SENDER, ["user1@example.test"], small)
        assert reply.code == 250, str(reply)
    assert len(scripted.accepted) == 1 and b"Subject: small" in scripted.accepted[0]
