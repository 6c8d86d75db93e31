"""SMTP AUTH delegated to Dovecot (auth.dovecot_socket): a real Dovecot auth service with a
passwd-file (dovecot_instance.py), and small unix-socket servers standing in for a Dovecot that
is missing, hangs or answers garbage. mailgate keeps the SMTP side; Dovecot checks the password
and names the user; a Dovecot that cannot answer gives 454 and is not a failed password."""

import base64
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from daemon_process import run_instance
from dovecot_instance import DovecotAuthInstance, dovecot_root
from mailgate_process import free_port, gateway_config, run_mailgate, write_config
from metrics_client import scrape, value
from smtp_client import send_message
from test_auth import b64, tls_session

PASSWORD = "Tr0ub4dor&3-dovecot"
CONTENT = b"Subject: dovecot auth\r\n\r\nbody\r\n"
HANDSHAKE = (b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t42\n"
             b"CUID\t1\nCOOKIE\t0123456789abcdef0123456789abcdef\nDONE\n")


def plain(name: str, password: str = PASSWORD) -> str:
    return f"AUTH PLAIN {b64(chr(0) + name + chr(0) + password)}"


@pytest.fixture(scope="module")
def dovecot():
    root, why = dovecot_root("auth")
    if root is None:
        pytest.skip(f"no private Dovecot: {why}")
    instance = DovecotAuthInstance.create(root, {"alice@example.test": PASSWORD,
                                                 "bob@example.test": PASSWORD})
    yield from run_instance(instance)


@pytest.fixture
def short_dir():
    """A folder with a short path: a unix socket path has at most 107 characters."""
    with tempfile.TemporaryDirectory(prefix="mg-dva-") as directory:
        yield Path(directory)


class FakeDovecot:
    """A unix-socket server playing a broken Dovecot: `script(fake, connection)` does what
    it does with each connection. Bounded: at most 20 connections, 30 s of silence each."""

    def __init__(self, path: Path, script):
        self.path = path
        self.script = script  # called with the connection; does what this Dovecot does
        self.received: list[bytes] = []
        self.connections = 0
        self.stopping = threading.Event()
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen(8)
        self.server.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set() and self.connections < 20:
            try:
                conn, _ = self.server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(30)
                try:
                    self.script(self, conn)
                except OSError:
                    pass

    def read_until(self, conn, marker: bytes) -> bytes:
        data = b""
        while marker not in data and len(data) < 65536 and not self.stopping.is_set():
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        self.received.append(data)
        return data

    def stop(self):
        self.stopping.set()
        self.server.close()
        self.thread.join(10)


@pytest.fixture
def fake_dovecot(short_dir):
    fakes = []

    def start(script) -> FakeDovecot:
        fake = FakeDovecot(short_dir / f"auth-{len(fakes)}", script)
        fakes.append(fake)
        return fake

    yield start
    for fake in fakes:
        fake.stop()


def dovecot_gateway(start_gateway, pki, socket_path, metrics_port=None, **auth):
    sections = {"server": {"tls": {"cert": str(pki.mx.cert), "key": str(pki.mx.key)}},
                "auth": {"dovecot_socket": str(socket_path), "failure_delay": "0", **auth}}
    if metrics_port:
        sections["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
    return start_gateway(**sections)


def test_plain_through_dovecot_sets_its_user(start_gateway, backend, pki, dovecot):
    """PLAIN as "alice": Dovecot checks the password and names alice@example.test."""
    gw = dovecot_gateway(start_gateway, pki, dovecot.socket_path)
    with tls_session(gw.port, pki, timeout=20) as client:
        reply = client.command(plain("alice"))
        assert (reply.code, reply.enhanced) == (235, "2.7.0"), str(reply)
        assert send_message(client, "alice@example.test", ["user@example.test"],
                            CONTENT).code == 250
    data = backend.wait_for_transactions(1)[0].data
    assert b"(mailgate) with ESMTPSA id" in data.split(b"\r\n\r\n")[0]
    log = gw.log_text()
    assert "AUTH PLAIN as alice@example.test from 127.0.0.1" in log, log
    assert PASSWORD not in log and b64(PASSWORD) not in log
    assert PASSWORD not in dovecot.log_text()


def test_dovecot_user_reaches_the_backend_in_xclient(start_gateway, backend, pki, dovecot):
    """The backend learns Dovecot's canonical name, not the one the client typed."""
    backend.ehlo_extra = ["XCLIENT NAME ADDR LOGIN"]
    gw = dovecot_gateway(start_gateway, pki, dovecot.socket_path)
    with tls_session(gw.port, pki, timeout=20) as client:
        assert client.command(plain("alice")).code == 235
        assert send_message(client, "alice@example.test", ["user@example.test"],
                            CONTENT).code == 250
    assert backend.wait_for_transactions(1)[0].xclient["LOGIN"] == "alice@example.test"


def test_login_through_dovecot(start_gateway, pki, dovecot):
    """LOGIN's name and password go to Dovecot as PLAIN; the identity is Dovecot's."""
    gw = dovecot_gateway(start_gateway, pki, dovecot.socket_path)
    with tls_session(gw.port, pki, timeout=20) as client:
        assert client.command("AUTH LOGIN").code == 334
        assert client.command(b64("bob@example.test")).code == 334
        reply = client.command(b64(PASSWORD))
        assert (reply.code, reply.enhanced) == (235, "2.7.0"), str(reply)
        assert client.command(plain("bob")).code == 503  # already authenticated
    assert gw.wait_for_log("AUTH LOGIN as bob@example.test from 127.0.0.1")


def test_concurrent_auths_through_dovecot(start_gateway, pki, dovecot):
    """Sessions authenticating at once each get their own connection to Dovecot (same CPID)."""
    gw = dovecot_gateway(start_gateway, pki, dovecot.socket_path)
    replies = []

    def authenticate(index):
        with tls_session(gw.port, pki, timeout=20) as client:
            replies.append(client.command(plain("alice" if index % 2 else "bob")).code)

    threads = [threading.Thread(target=authenticate, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert replies == [235] * 8, replies


def test_wrong_passwords_are_535_and_counted(start_gateway, pki, dovecot):
    """Dovecot's FAIL is 535 and counts toward max_failures, then 421 for that address."""
    metrics_port = free_port()
    gw = dovecot_gateway(start_gateway, pki, dovecot.socket_path, metrics_port,
                         max_failures=2)
    with tls_session(gw.port, pki, timeout=20) as client:
        reply = client.command(plain("alice", "wrong"))
        assert (reply.code, reply.enhanced) == (535, "5.7.8"), str(reply)
        reply = client.command(plain("nobody-here"))
        assert (reply.code, reply.enhanced) == (535, "5.7.8"), str(reply)
        assert client.command("NOOP").code == 250
    with tls_session(gw.port, pki, timeout=20) as client:
        reply = client.command(plain("alice"))
        assert (reply.code, reply.enhanced) == (421, "4.7.0"), str(reply)
    samples = scrape(metrics_port)
    assert value(samples, "mailgate_auth_attempts_total", result="failure") == 2
    assert value(samples, "mailgate_auth_attempts_total", result="unavailable") == 0
    assert "AUTH PLAIN failed for 'alice' from 127.0.0.1" in gw.log_text()
    assert "wrong" not in gw.log_text()


@pytest.mark.parametrize("name", ["ali\tce", "alice\nevil", "ali\0ce"])
def test_names_dovecot_cannot_carry_are_refused_unasked(start_gateway, pki, fake_dovecot,
                                                        name):
    """TAB, LF or NUL in a LOGIN name: 535 without a connection to Dovecot."""
    fake = fake_dovecot(lambda fake, conn: None)
    gw = dovecot_gateway(start_gateway, pki, fake.path)
    with tls_session(gw.port, pki, timeout=20) as client:
        assert client.command("AUTH LOGIN").code == 334
        assert client.command(b64(name)).code == 334
        reply = client.command(b64(PASSWORD))
        assert (reply.code, reply.enhanced) == (535, "5.7.8"), str(reply)
    assert fake.connections == 0


def test_request_on_the_wire(start_gateway, pki, fake_dovecot):
    """What mailgate sends: VERSION, CPID, then AUTH PLAIN with secured, lip, rip and resp;
    the identity is whatever user= Dovecot answers."""
    def dovecot(fake, conn):
        fake.read_until(conn, b"\n")
        conn.sendall(HANDSHAKE)
        line = fake.read_until(conn, b"\n")
        request_id = line.split(b"\t")[1]
        conn.sendall(b"OK\t" + request_id + b"\tuser=canonical@example.test\n")

    fake = fake_dovecot(dovecot)
    gw = dovecot_gateway(start_gateway, pki, fake.path)
    with tls_session(gw.port, pki, timeout=20) as client:
        assert client.command(plain("Alice")).code == 235
    hello, auth = fake.received
    assert hello.startswith(b"VERSION\t1\t2\nCPID\t")
    fields = auth.rstrip(b"\n").split(b"\t")
    assert fields[0] == b"AUTH" and fields[2:6] == [b"PLAIN", b"service=smtp", b"nologin",
                                                      b"no-penalty"]
    assert b"secured" in fields and b"lip=127.0.0.1" in fields and b"rip=127.0.0.1" in fields
    resp = [f for f in fields if f.startswith(b"resp=")][0][5:]
    assert base64.b64decode(resp) == b"\0Alice\0" + PASSWORD.encode()
    assert gw.wait_for_log("AUTH PLAIN as canonical@example.test from 127.0.0.1")


def assert_unavailable(client, line=None):
    reply = client.command(line or plain("alice"))
    assert (reply.code, reply.enhanced) == (454, "4.7.0"), str(reply)
    assert reply.text.endswith("Temporary authentication failure"), str(reply)
    assert client.command("NOOP").code == 250  # the session goes on


def test_missing_socket_is_454_and_not_counted(start_gateway, pki, short_dir):
    """No Dovecot at the path: 454 each time, and never the 421 of max_failures."""
    metrics_port = free_port()
    gw = dovecot_gateway(start_gateway, pki, short_dir / "nothing-here", metrics_port,
                         max_failures=1)
    with tls_session(gw.port, pki, timeout=20) as client:
        assert_unavailable(client)
        assert_unavailable(client)
        assert client.command("AUTH LOGIN").code == 334
        assert client.command(b64("alice")).code == 334
        assert_unavailable(client, b64(PASSWORD))
    samples = scrape(metrics_port)
    assert value(samples, "mailgate_auth_attempts_total", result="unavailable") == 3
    assert value(samples, "mailgate_auth_attempts_total", result="failure") == 0
    log = gw.log_text()
    assert f"Dovecot auth at {short_dir}/nothing-here unavailable: connecting:" in log, log
    assert PASSWORD not in log


def test_socket_not_listening_is_454(start_gateway, pki, short_dir):
    """A socket file nobody listens on (a stopped Dovecot leaves one): connection refused."""
    path = short_dir / "stale"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    try:
        gw = dovecot_gateway(start_gateway, pki, path)
        with tls_session(gw.port, pki, timeout=20) as client:
            assert_unavailable(client)
        assert gw.wait_for_log("unavailable: connecting:")
    finally:
        stale.close()


def test_hanging_dovecot_is_454_within_the_timeout(start_gateway, pki, fake_dovecot):
    """A Dovecot that accepts and never answers: 454 once dovecot_timeout has passed."""
    fake = fake_dovecot(lambda fake, conn: fake.stopping.wait(30))
    gw = dovecot_gateway(start_gateway, pki, fake.path, dovecot_timeout="1s")
    with tls_session(gw.port, pki, timeout=20) as client:
        started = time.monotonic()
        assert_unavailable(client)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 5, elapsed
    assert gw.wait_for_log("unavailable: no answer within 1000 ms (reading the handshake)")


def test_dovecot_hanging_after_the_handshake_is_454(start_gateway, pki, fake_dovecot):
    def dovecot(fake, conn):
        conn.sendall(HANDSHAKE)
        fake.read_until(conn, b"resp=")
        fake.stopping.wait(30)

    fake = fake_dovecot(dovecot)
    gw = dovecot_gateway(start_gateway, pki, fake.path, dovecot_timeout="1s")
    with tls_session(gw.port, pki, timeout=20) as client:
        assert_unavailable(client)
    assert gw.wait_for_log("no answer within 1000 ms (reading the reply)")


@pytest.mark.parametrize("answer, logged", [
    (b"220 not dovecot\r\n", "bad handshake: expected VERSION"),
    (b"VERSION\t2\t0\n", "bad handshake: protocol version 2 is not 1"),
    (b"VERSION\t1\t2\nMECH\tLOGIN\nDONE\n", "PLAIN is not among its mechanisms"),
    (b"VERSION\t1\t2\n" + b"X" * 20000, "reading the handshake: a line longer than 16384"),
    (HANDSHAKE + b"OK\t1\n", "OK without user="),
    (HANDSHAKE + b"OK\t1\tuser=a\x01nb\n", "unusable user="),
    (HANDSHAKE + b"OK\t9\tuser=alice\n", "unexpected reply"),
    (HANDSHAKE + b"CONT\t1\t\n", "unexpected reply 'CONT"),
    (HANDSHAKE + b"FAIL\t1\ttemp\treason=db down\n", "temporary failure: db down"),
    (HANDSHAKE, "it closed the connection (reading the reply)"),
    (b"", "it closed the connection (reading the handshake)"),
])
def test_garbage_from_dovecot_is_454(start_gateway, pki, fake_dovecot, answer, logged):
    """Whatever is not Dovecot's protocol, or a temporary FAIL: 454, with why in the log."""
    def respond(fake, conn):
        fake.read_until(conn, b"\n")
        if answer.startswith(HANDSHAKE):
            conn.sendall(HANDSHAKE)
            fake.read_until(conn, b"\n")
            conn.sendall(answer[len(HANDSHAKE):])
        else:
            conn.sendall(answer)
        fake.stopping.wait(0.5)

    fake = fake_dovecot(respond)
    gw = dovecot_gateway(start_gateway, pki, fake.path, dovecot_timeout="5s")
    with tls_session(gw.port, pki, timeout=20) as client:
        assert_unavailable(client)
    assert gw.wait_for_log(logged), gw.log_text()
    assert PASSWORD not in gw.log_text()


def test_reload_switches_to_dovecot(start_gateway, build, backend, pki, dovecot, tmp_path):
    """SIGHUP from a users file to dovecot_socket: new sessions ask Dovecot."""
    users = tmp_path / "users"
    users.write_text("carol:$6$abcdefgh$" + "x" * 86 + "\n", encoding="utf-8")
    gw = start_gateway(server={"tls": {"cert": str(pki.mx.cert), "key": str(pki.mx.key)}},
                       auth={"users_file": str(users), "failure_delay": "0"})
    with tls_session(gw.port, pki, timeout=20) as client:
        assert client.command(plain("alice")).code == 535  # not in the users file
    config = gateway_config(build, backend.port,
                            server={"tls": {"cert": str(pki.mx.cert), "key": str(pki.mx.key)}},
                            auth={"dovecot_socket": str(dovecot.socket_path),
                                  "failure_delay": "0"})
    write_config(gw.config_path, config, port=gw.port)
    gw.send_signal(signal.SIGHUP)
    assert gw.wait_for_log("configuration reloaded", timeout=10), gw.log_text()
    with tls_session(gw.port, pki, timeout=20) as client:
        assert client.command(plain("alice")).code == 235
    assert gw.wait_for_log("AUTH PLAIN as alice@example.test")


@pytest.mark.parametrize("auth, message", [
    ({"users_file": "/etc/mailgate/users", "dovecot_socket": "/run/dovecot/auth-client"},
     "auth.dovecot_socket: not together with auth.users_file: give one of them"),
    ({"max_failures": 3},
     "auth.users_file: required (or dovecot_socket, to ask Dovecot instead)"),
    ({"dovecot_socket": "auth-client"}, "auth.dovecot_socket: 'auth-client' is not an absolute"),
    ({"dovecot_socket": "/run/x", "dovecot_timeout": "soon"}, "auth.dovecot_timeout: "),
])
def test_config_errors_are_located(build, backend, tmp_path, auth, message):
    path = write_config(tmp_path / "c.yaml", gateway_config(build, backend.port, auth=auth))
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1
    located = [line for line in result.stderr.splitlines() if message in line]
    assert located and located[0].startswith(f"{path}:"), result.stderr
    assert located[0].split(":")[1].isdigit(), located[0]


def test_config_with_a_dovecot_socket_checks_ok(build, backend, tmp_path):
    """The socket is not opened at load: a Dovecot started later is fine (AUTH gets 454 until)."""
    path = write_config(tmp_path / "c.yaml", gateway_config(
        build, backend.port, auth={"dovecot_socket": "/run/dovecot/auth-client",
                                   "dovecot_timeout": "3s"}))
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 0, result.stderr
