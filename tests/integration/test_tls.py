"""Inbound TLS: STARTTLS (RFC 3207) and implicit-TLS listeners, certificates chosen by SNI,
require_tls, hostile handshakes, the Received header, and certificates re-read on SIGHUP."""

import signal
import smtplib
import socket
import ssl
import time

import pytest

from mailgate_process import HOSTNAME, free_port, run_mailgate, write_config
from metrics_client import scrape, value
from smtp_client import RawClient, open_session, send_message
from tls_pki import TestPki, peer_common_name

CONTENT = b"Subject: tls\r\nFrom: a@remote.example\r\n\r\nover TLS\r\n.leading dot\r\n"
SENDER = "sender@remote.example"
RCPT = "user@example.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    pki = TestPki(tmp_path_factory.mktemp("pki"))
    pki.mx = pki.issue(HOSTNAME, dns=(HOSTNAME,), ips=("127.0.0.1",))
    pki.other = pki.issue("other.test.example", dns=("other.test.example", "*.wild.test.example"))
    pki.alias = pki.issue("alias-cert.test.example", dns=("alias-cert.test.example",))
    return pki


def tls_section(pki, **more) -> dict:
    return {"cert": str(pki.mx.cert), "key": str(pki.mx.key), **more}


def upgrade(client: RawClient, context: ssl.SSLContext, name: str = HOSTNAME) -> None:
    """Runs the TLS handshake on a RawClient that has just read 220 to STARTTLS."""
    assert not client.buffer, f"bytes after the 220: {bytes(client.buffer)!r}"
    client.sock = context.wrap_socket(client.sock, server_hostname=name)


def starttls_client(port: int, pki) -> RawClient:
    client = RawClient(port)
    open_session(client)
    reply = client.command("STARTTLS")
    assert (reply.code, reply.enhanced) == (220, "2.0.0"), str(reply)
    upgrade(client, pki.client_context())
    return client


def test_starttls_delivery_reaches_the_backend_byte_exact(start_gateway, backend, pki):
    """smtplib's STARTTLS, then a message: the backend gets it with the TLS Received header."""
    gw = start_gateway(server={"tls": tls_section(pki)})
    with smtplib.SMTP("127.0.0.1", gw.port, local_hostname="client.example", timeout=10) as c:
        c.ehlo()
        assert c.has_extn("starttls")
        c.starttls(context=pki.client_context())
        c.ehlo()
        assert not c.has_extn("starttls")
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        c.sendmail(SENDER, [RCPT], CONTENT)
    data = backend.wait_for_transactions(1)[0].data
    head, rest = data.split(b"\r\n", 1)
    assert head.startswith(b"Received: from client.example ([127.0.0.1])")
    tls_line, rest = rest.split(b"\r\n", 1)
    assert tls_line.startswith(b"\t(using TLSv1.")
    assert b" with cipher " in tls_line and tls_line.endswith(b" bits))")
    by_line, rest = rest.split(b"\r\n", 1)
    assert b"(mailgate) with ESMTPS id" in by_line
    assert rest.split(b"\r\n", 1)[1] == CONTENT
    assert "TLS from 127.0.0.1: TLSv1." in gw.log_text()


def test_starttls_not_offered_without_a_certificate(gateway):
    with RawClient(gateway.port) as client:
        client.greeting()
        assert "STARTTLS" not in client.ehlo().text
        reply = client.command("STARTTLS")
        assert (reply.code, reply.enhanced) == (502, "5.5.1")


def test_starttls_with_an_argument_is_a_syntax_error(start_gateway, pki):
    gw = start_gateway(server={"tls": tls_section(pki)})
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command("STARTTLS now").code == 501
        assert client.command("NOOP").code == 250  # still plaintext, still usable


def test_starttls_twice_is_refused_and_not_offered_again(start_gateway, pki):
    gw = start_gateway(server={"tls": tls_section(pki)})
    with starttls_client(gw.port, pki) as client:
        ehlo = client.ehlo()
        assert ehlo.code == 250 and "STARTTLS" not in ehlo.text
        reply = client.command("STARTTLS")
        assert (reply.code, reply.enhanced) == (503, "5.5.1"), str(reply)
        assert send_message(client, SENDER, [RCPT], CONTENT).code == 250


def test_commands_pipelined_after_starttls_are_discarded(start_gateway, backend, pki):
    """CVE-2011-0411: plaintext sent with STARTTLS in one packet never runs inside TLS."""
    gw = start_gateway(server={"tls": tls_section(pki)})
    with RawClient(gw.port) as client:
        open_session(client)
        client.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.example>\r\n"
                    b"RCPT TO:<user@example.test>\r\n")
        reply = client.read_reply()
        assert reply.code == 220, str(reply)
        assert client.pending(0.3) == b""  # nothing answered the injected commands
        upgrade(client, pki.client_context())
        # The session starts over: MAIL needs a new EHLO, and no injected envelope exists.
        assert client.command("MAIL FROM:<sender@remote.example>").code == 503
        assert client.command("NOOP").code == 250
        assert client.pending(0.3) == b""
        assert client.ehlo().code == 250
        assert send_message(client, SENDER, [RCPT], CONTENT).code == 250
    transaction = backend.wait_for_transactions(1)[0]
    assert transaction.sender == SENDER
    assert "injected" not in " ".join(backend.commands())
    assert gw.wait_for_log("sent after STARTTLS before the TLS handshake")


def test_starttls_resets_the_envelope_and_helo(start_gateway, backend, pki):
    gw = start_gateway(server={"tls": tls_section(pki)})
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command("MAIL FROM:<early@remote.example>").code == 250
        assert client.command("STARTTLS").code == 220
        upgrade(client, pki.client_context())
        assert client.command("RCPT TO:<user@example.test>").code == 503
        assert client.ehlo().code == 250
        assert send_message(client, SENDER, [RCPT], CONTENT).code == 250
    assert backend.wait_for_transactions(1)[0].sender == SENDER


def test_require_tls_refuses_mail_before_starttls(start_gateway, pki):
    gw = start_gateway(server={"tls": tls_section(pki),
                               "listen": [{"address": "MAIN", "require_tls": True}]})
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command("MAIL FROM:<sender@remote.example>")
        assert (reply.code, reply.enhanced) == (530, "5.7.0"), str(reply)
    with starttls_client(gw.port, pki) as client:
        client.ehlo()
        assert send_message(client, SENDER, [RCPT], CONTENT).code == 250


def implicit_gateway(start_gateway, pki, **tls_more):
    port = free_port()
    gw = start_gateway(server={"tls": tls_section(pki, **tls_more),
                               "listen": ["MAIN", {"address": f"127.0.0.1:{port}",
                                                   "tls": "implicit"}]})
    # The start waits for the first listener; the second one's line may come a moment later.
    assert gw.wait_for_log(f"listening on 127.0.0.1:{port} (implicit TLS)")
    gw.implicit_port = port
    return gw


def test_implicit_tls_listener_delivers(start_gateway, backend, pki):
    gw = implicit_gateway(start_gateway, pki)
    with smtplib.SMTP_SSL("127.0.0.1", gw.implicit_port, local_hostname="client.example",
                          timeout=10, context=pki.client_context()) as client:
        code, _ = client.ehlo()
        assert code == 250 and not client.has_extn("starttls")
        client.sendmail(SENDER, [RCPT], CONTENT)
    data = backend.wait_for_transactions(1)[0].data
    assert b"\r\n\t(using TLSv1." in data.split(b"\r\n\r\n")[0]
    assert data.endswith(CONTENT)


def handshake_name(port: int, pki, server_name: str) -> str:
    """The CN of the certificate the server presents for server_name (implicit TLS)."""
    context = pki.client_context(check_hostname=False)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return peer_common_name(tls)


def test_sni_picks_the_certificate(start_gateway, pki):
    gw = implicit_gateway(start_gateway, pki, certificates=[
        {"cert": str(pki.other.cert), "key": str(pki.other.key)},
        {"cert": str(pki.alias.cert), "key": str(pki.alias.key),
         "names": ["alias.test.example"]}])
    port = gw.implicit_port
    assert handshake_name(port, pki, "other.test.example") == "other.test.example"
    assert handshake_name(port, pki, "OTHER.test.example") == "other.test.example"
    assert handshake_name(port, pki, "a.wild.test.example") == "other.test.example"
    assert handshake_name(port, pki, "alias.test.example") == "alias-cert.test.example"
    assert handshake_name(port, pki, "unknown.example") == HOSTNAME
    assert handshake_name(port, pki, HOSTNAME) == HOSTNAME
    # STARTTLS honours SNI as well.
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command("STARTTLS").code == 220
        upgrade(client, pki.client_context(), name="other.test.example")
        assert peer_common_name(client.sock) == "other.test.example"
        assert client.ehlo().code == 250


def test_garbage_instead_of_a_client_hello_is_closed(start_gateway, pki):
    gw = implicit_gateway(start_gateway, pki)
    with RawClient(gw.implicit_port) as client:
        client.send(b"EHLO client.example\r\n" + b"A" * 2000)
        assert client.wait_closed(5)
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command("STARTTLS").code == 220
        client.send(b"GET / HTTP/1.0\r\n\r\n")
        assert client.wait_closed(5)
    assert gw.wait_for_log("TLS handshake with 127.0.0.1 failed")
    # The gateway goes on serving.
    with smtplib.SMTP_SSL("127.0.0.1", gw.implicit_port, timeout=10,
                          context=pki.client_context()) as client:
        assert client.noop()[0] == 250


def test_handshakes_are_counted_in_metrics(start_gateway, pki):
    metrics_port = free_port()
    gw = start_gateway(server={"tls": tls_section(pki)},
                       metrics={"listen": f"127.0.0.1:{metrics_port}"})
    for _ in range(2):
        starttls_client(gw.port, pki).close()
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command("STARTTLS").code == 220
        client.send(b"GET / HTTP/1.0\r\n\r\n")
        assert client.wait_closed(5)
    samples = scrape(metrics_port)
    assert value(samples, "mailgate_tls_handshakes_total", result="success") == 2
    assert value(samples, "mailgate_tls_handshakes_total", result="failure") == 1


def test_handshake_timeout_closes_a_silent_client(start_gateway, pki):
    gw = implicit_gateway(start_gateway, pki, handshake_timeout="1s")
    started = time.monotonic()
    with RawClient(gw.implicit_port) as client:
        assert client.wait_closed(6)
    assert time.monotonic() - started < 5
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command("STARTTLS").code == 220
        client.send(b"\x16\x03")  # the start of a record, then nothing
        assert client.wait_closed(6)
    assert gw.wait_for_log("failed: timed out")


def test_min_version_refuses_older_clients(start_gateway, pki):
    gw = implicit_gateway(start_gateway, pki, min_version="TLSv1.3")
    context = pki.client_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", gw.implicit_port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname=HOSTNAME)
    with smtplib.SMTP_SSL("127.0.0.1", gw.implicit_port, timeout=10,
                          context=pki.client_context()) as client:
        assert client.sock.version() == "TLSv1.3"


def test_reload_reads_the_new_certificate_and_refuses_a_broken_one(start_gateway, build,
                                                                     backend, pki):
    gw = implicit_gateway(start_gateway, pki)
    assert handshake_name(gw.implicit_port, pki, HOSTNAME) == HOSTNAME
    config_text = gw.config_path.read_text(encoding="utf-8")

    def reload(text: str, expect: str) -> None:
        gw.config_path.write_text(text, encoding="utf-8")
        before = gw.log_text().count(expect)
        gw.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while gw.log_text().count(expect) == before:
            assert time.monotonic() < deadline, gw.log_text()
            time.sleep(0.05)

    new = pki.issue(HOSTNAME, dns=(HOSTNAME,), ips=("127.0.0.1",), file_stem="renewed")
    reload(config_text.replace(str(pki.mx.cert), str(new.cert))
           .replace(str(pki.mx.key), str(new.key)), "configuration reloaded")
    context = pki.client_context()
    with socket.create_connection(("127.0.0.1", gw.implicit_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=HOSTNAME) as tls:
            served = tls.getpeercert(binary_form=True)
    assert served == ssl.PEM_cert_to_DER_cert(new.cert.read_text())
    # A key that does not match its certificate: refused, located, the renewed one stays.
    reload(config_text.replace(str(pki.mx.cert), str(new.cert)), "reload refused")
    assert "server.tls.key" in gw.log_text() and "does not match" in gw.log_text()
    with socket.create_connection(("127.0.0.1", gw.implicit_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=HOSTNAME) as tls:
            assert tls.getpeercert(binary_form=True) == served


def test_check_config_locates_certificate_errors(build, backend, pki, tmp_path):
    from mailgate_process import gateway_config
    missing = tmp_path / "missing.pem"
    config = gateway_config(build, backend.port, server={"tls": {
        "cert": str(missing), "key": str(pki.mx.key)}})
    path = write_config(tmp_path / "c.yaml", config)
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "cert:" in text)
    assert f"{path}:{line}:" in result.stderr
    assert "server.tls.cert: cannot read" in result.stderr

    config["server"]["tls"] = {"cert": str(pki.mx.cert), "key": str(pki.other.key)}
    write_config(path, config)
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1 and "server.tls.key" in result.stderr, result.stderr

    config["server"]["tls"] = {"cert": str(pki.mx.cert), "key": str(pki.mx.key),
                               "ciphers": "NOT-A-CIPHER"}
    write_config(path, config)
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1 and "server.tls.ciphers" in result.stderr, result.stderr


def test_implicit_tls_with_a_greeting_delay(start_gateway, backend, pki):
    """The early-talker wait works inside TLS: silence gets the greeting, talk gets 554."""
    port = free_port()
    gw = start_gateway(server={"tls": tls_section(pki),
                               "listen": ["MAIN", {"address": f"127.0.0.1:{port}",
                                                   "tls": "implicit"}]},
                       limits={"greeting_delay": "300ms"})
    # The start waits for the first listener; the implicit one's line may come a moment later.
    assert gw.wait_for_log(f"listening on 127.0.0.1:{port} (implicit TLS)")
    with smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="client.example", timeout=10,
                          context=pki.client_context()) as client:
        client.sendmail(SENDER, [RCPT], CONTENT)
    assert backend.wait_for_transactions(1)[0].data.endswith(CONTENT)
    context = pki.client_context()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=HOSTNAME) as tls:
            tls.sendall(b"EHLO early.example\r\n")
            reply = tls.recv(4096)
            assert reply.startswith(b"554 5.5.0"), reply
