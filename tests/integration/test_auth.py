"""SMTP AUTH (RFC 4954): PLAIN and LOGIN against a users file of crypt(3) SHA-512 hashes,
offered only in TLS unless allowed, failures counted per address, passwords never logged."""

import base64
import smtplib
import subprocess
import time

import pytest

from mailgate_process import HOSTNAME, free_port, gateway_config, run_mailgate, write_config
from metrics_client import scrape, value
from smtp_client import RawClient, open_session, send_message

PASSWORD = "Tr0ub4dor&3-secret"
CONTENT = b"Subject: auth\r\n\r\nbody\r\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    sha512 = subprocess.run(["openssl", "passwd", "-6", PASSWORD], check=True,
                            capture_output=True, text=True, timeout=30).stdout.strip()
    path = tmp_path_factory.mktemp("users") / "users"
    path.write_text(f"# mailgate users\nalice:{sha512}\n\nbob:{sha512}\n", encoding="utf-8")
    return path


def auth_gateway(start_gateway, pki, users_file, **auth):
    return start_gateway(server={"tls": {"cert": str(pki.mx.cert), "key": str(pki.mx.key)}},
                         auth={"users_file": str(users_file), "failure_delay": "0", **auth})


def tls_session(port: int, pki, timeout: float = 5.0) -> RawClient:
    """A session that has said EHLO, STARTTLS and EHLO again, and is offered AUTH."""
    client = RawClient(port, timeout=timeout)
    open_session(client)
    assert client.command("STARTTLS").code == 220
    client.sock = pki.client_context().wrap_socket(client.sock, server_hostname=HOSTNAME)
    ehlo = client.ehlo()
    assert "AUTH PLAIN LOGIN" in ehlo.lines, str(ehlo)
    return client


def test_auth_plain_with_smtplib_then_mail(start_gateway, backend, pki, users_file):
    gw = auth_gateway(start_gateway, pki, users_file)
    with smtplib.SMTP("127.0.0.1", gw.port, local_hostname="client.example", timeout=10) as c:
        c.ehlo()
        assert not c.has_extn("auth")
        c.starttls(context=pki.client_context())
        c.ehlo()
        assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        code, text = c.login("alice", PASSWORD)
        assert code == 235 and text.startswith(b"2.7.0")
        c.ehlo()
        assert not c.has_extn("auth")  # not offered again
        c.sendmail("sender@remote.example", ["user@example.test"], CONTENT)
    data = backend.wait_for_transactions(1)[0].data
    assert b"(mailgate) with ESMTPSA id" in data.split(b"\r\n\r\n")[0]
    log = gw.log_text()
    assert "AUTH PLAIN as alice from 127.0.0.1" in log
    assert PASSWORD not in log
    assert b64(f"\0alice\0{PASSWORD}") not in log and b64(PASSWORD) not in log


def test_auth_login_with_challenges(start_gateway, pki, users_file):
    gw = auth_gateway(start_gateway, pki, users_file)
    with tls_session(gw.port, pki) as client:
        reply = client.command("AUTH LOGIN")
        assert (reply.code, reply.lines) == (334, ["VXNlcm5hbWU6"])
        reply = client.command(b64("bob"))
        assert (reply.code, reply.lines) == (334, ["UGFzc3dvcmQ6"])
        reply = client.command(b64(PASSWORD))
        assert (reply.code, reply.enhanced) == (235, "2.7.0"), str(reply)
        again = client.command(f"AUTH PLAIN {b64(chr(0) + 'bob' + chr(0) + PASSWORD)}")
        assert (again.code, again.enhanced) == (503, "5.5.1")
    assert PASSWORD not in gw.log_text()


def test_auth_plain_with_an_empty_challenge(start_gateway, pki, users_file):
    gw = auth_gateway(start_gateway, pki, users_file)
    with tls_session(gw.port, pki) as client:
        client.send(b"AUTH PLAIN\r\n")
        assert client.read_reply().raw == b"334 \r\n"
        reply = client.command(b64(f"alice\0alice\0{PASSWORD}"))  # authzid = authcid is fine
        assert reply.code == 235, str(reply)


def test_auth_refused_without_tls(start_gateway, pki, users_file):
    gw = auth_gateway(start_gateway, pki, users_file)
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command(f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + PASSWORD)}")
        assert (reply.code, reply.enhanced) == (538, "5.7.11"), str(reply)


def test_auth_allowed_in_plaintext_when_configured(start_gateway, pki, users_file):
    gw = auth_gateway(start_gateway, pki, users_file, allow_plaintext=True)
    with RawClient(gw.port) as client:
        client.greeting()
        assert "AUTH PLAIN LOGIN" in client.ehlo().lines
        reply = client.command(f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + PASSWORD)}")
        assert reply.code == 235, str(reply)


@pytest.mark.parametrize("exchange, code, enhanced", [
    ([f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + 'wrong')}"], 535, "5.7.8"),
    ([f"AUTH PLAIN {b64(chr(0) + 'nobody' + chr(0) + PASSWORD)}"], 535, "5.7.8"),
    ([f"AUTH PLAIN {b64('bob' + chr(0) + 'alice' + chr(0) + PASSWORD)}"], 535, "5.7.8"),
    (["AUTH CRAM-MD5"], 504, "5.5.4"),
    (["AUTH PLAIN not*base64"], 501, "5.5.2"),
    (["AUTH PLAIN", "*"], 501, "5.0.0"),
    (["AUTH LOGIN", b64("alice"), "*"], 501, "5.0.0"),
    (["AUTH LOGIN", "%%%"], 501, "5.5.2"),
    ([f"AUTH PLAIN {b64('no nul at all')}"], 501, "5.5.2"),
])
def test_auth_failures(start_gateway, pki, users_file, exchange, code, enhanced):
    gw = auth_gateway(start_gateway, pki, users_file, max_failures=100)
    with tls_session(gw.port, pki) as client:
        for line in exchange[:-1]:
            assert client.command(line).code == 334
        reply = client.command(exchange[-1])
        assert (reply.code, reply.enhanced) == (code, enhanced), str(reply)
        assert client.command("NOOP").code == 250  # the session goes on
    assert "wrong" not in gw.log_text()


def test_failures_are_delayed_then_refused_per_address(start_gateway, pki, users_file):
    metrics_port = free_port()
    gw = start_gateway(server={"tls": {"cert": str(pki.mx.cert), "key": str(pki.mx.key)}},
                       auth={"users_file": str(users_file), "max_failures": 2,
                             "failure_delay": "300ms"},
                       metrics={"listen": f"127.0.0.1:{metrics_port}"})
    wrong = f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + 'wrong')}"
    with tls_session(gw.port, pki) as client:
        started = time.monotonic()
        assert client.command(wrong).code == 535
        assert time.monotonic() - started >= 0.3
        assert client.command(wrong).code == 535
    with tls_session(gw.port, pki) as client:
        good = f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + PASSWORD)}"
        reply = client.command(good)
        assert (reply.code, reply.enhanced) == (421, "4.7.0"), str(reply)
        assert client.wait_closed(5)
    assert gw.wait_for_log("refused: too many failures")
    samples = scrape(metrics_port)
    assert value(samples, "mailgate_auth_attempts_total", result="failure") == 2
    assert value(samples, "mailgate_auth_attempts_total", result="success") == 0
    assert value(samples, "mailgate_limit_hits_total", limit="auth.max_failures") == 1


def test_auth_needs_ehlo_and_no_transaction(start_gateway, pki, users_file):
    gw = auth_gateway(start_gateway, pki, users_file, allow_plaintext=True)
    plain = f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + PASSWORD)}"
    with RawClient(gw.port) as client:
        client.greeting()
        assert client.command(plain).code == 503
        assert client.command("HELO client.example").code == 250
        assert client.command(plain).code == 503  # HELO is not EHLO (RFC 4954)
        assert client.ehlo().code == 250
        assert client.command("MAIL FROM:<a@remote.example>").code == 250
        assert client.command(plain).code == 503


def test_starttls_forgets_an_identity(start_gateway, pki, users_file):
    """An AUTH in plaintext does not survive STARTTLS (RFC 3207: the state starts over)."""
    gw = auth_gateway(start_gateway, pki, users_file, allow_plaintext=True)
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + PASSWORD)}").code \
            == 235
        assert client.command("STARTTLS").code == 220
        client.sock = pki.client_context().wrap_socket(client.sock, server_hostname=HOSTNAME)
        assert "AUTH PLAIN LOGIN" in client.ehlo().lines


@pytest.mark.parametrize("content, message", [
    ("alice:$1$abc$0123456789abcdef012345\n", "users:1:1: the hash of 'alice' is not a strong"),
    ("# ok\nalice\n", "users:2:1: expected name:hash"),
])
def test_users_file_errors_are_located(build, backend, tmp_path, content, message):
    users = tmp_path / "users"
    users.write_text(content, encoding="utf-8")
    path = write_config(tmp_path / "c.yaml",
                        gateway_config(build, backend.port, auth={"users_file": str(users)}))
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


def test_missing_users_file_is_located(build, backend, tmp_path):
    path = write_config(tmp_path / "c.yaml", gateway_config(
        build, backend.port, auth={"users_file": str(tmp_path / "nope")}))
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1
    assert "auth.users_file: cannot read" in result.stderr and f"{path}:" in result.stderr


def test_no_auth_without_a_users_file(gateway):
    with RawClient(gateway.port) as client:
        open_session(client)
        reply = client.command("AUTH PLAIN AGFsaWNlAHg=")
        assert (reply.code, reply.enhanced) == (502, "5.5.1")
        assert send_message(client, "a@remote.example", ["user@example.test"], CONTENT).code == 250


def test_relay_access_relays_for_authenticated_clients(start_gateway, build, backend, pki,
                                                       users_file):
    """relay_access with allow_authenticated: any recipient after AUTH, none before."""
    relay = {"name": "relay_access", "path": str(build.plugin("relay_access")),
             "config": {"local_domains": ["example.test"], "allow_authenticated": True}}
    gw = start_gateway(server={"tls": {"cert": str(pki.mx.cert), "key": str(pki.mx.key)}},
                       auth={"users_file": str(users_file), "failure_delay": "0"},
                       plugins=[relay])
    with tls_session(gw.port, pki) as client:
        assert client.command("MAIL FROM:<alice@example.test>").code == 250
        assert client.command("RCPT TO:<someone@elsewhere.example>").code == 550
        assert client.command("RSET").code == 250
        assert client.command(f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + PASSWORD)}").code \
            == 235
        assert send_message(client, "alice@example.test", ["someone@elsewhere.example"],
                            CONTENT).code == 250
    assert backend.wait_for_transactions(1)[0].rcpts == ["someone@elsewhere.example"]
