"""TLS to the backend (backend.tls): required with verification of the chain and the name,
opportunistic STARTTLS, and the 4xx a client gets when a required verification fails."""

import ssl
import warnings

import pytest

from conftest import running_backend
from mailgate_process import (gateway_config, relay_access_entry, run_mailgate, smtp_backend,
                              write_config)
from smtp_client import RawClient, open_session, send_message
from tls_pki import TestPki, server_context

CONTENT = b"Subject: backend tls\r\n\r\nbody\r\n"
SENDER = "sender@remote.example"
RCPT = "user@example.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    pki = TestPki(tmp_path_factory.mktemp("pki"))
    pki.backend = pki.issue("backend.test", dns=("backend.test",), ips=("127.0.0.1",))
    return pki


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    """Another CA, which signed nothing the backend presents."""
    return TestPki(tmp_path_factory.mktemp("stranger"), ca_name="some other CA")


def deliver(port: int):
    with RawClient(port) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
        if reply.code != 250:
            return reply
        assert client.command(f"RCPT TO:<{RCPT}>").code == 250
        assert client.command("DATA").code == 354
        client.send(CONTENT + b".\r\n")
        return client.read_reply()


def test_required_tls_verifies_and_delivers(start_gateway, backend, pki):
    backend.tls_context = server_context(pki.backend)
    gw = start_gateway(backend=smtp_backend(backend.port, tls="required",
                                            ca_file=str(pki.ca.cert),
                                            expected_name="backend.test"))
    assert deliver(gw.port).code == 250
    transaction = backend.wait_for_transactions(1)[0]
    assert transaction.tls
    assert transaction.data.endswith(CONTENT)
    commands = [c.split()[0].upper() for c in backend.commands()]
    assert commands[:3] == ["EHLO", "STARTTLS", "EHLO"]


def test_required_tls_checks_an_ip_address_by_default(start_gateway, backend, pki):
    """Without expected_name the host of backend.servers (here 127.0.0.1) must match."""
    backend.tls_context = server_context(pki.backend)
    gw = start_gateway(backend=smtp_backend(backend.port, tls="required",
                                            ca_file=str(pki.ca.cert)))
    assert deliver(gw.port).code == 250
    assert backend.wait_for_transactions(1)[0].tls


def test_required_tls_with_the_wrong_name_fails_with_4xx(start_gateway, backend, pki):
    backend.tls_context = server_context(pki.backend)
    gw = start_gateway(backend=smtp_backend(backend.port, tls="required",
                                            ca_file=str(pki.ca.cert),
                                            expected_name="other.test"))
    reply = deliver(gw.port)
    assert (reply.code, reply.enhanced) == (451, "4.4.1"), str(reply)
    assert backend.transactions == []
    assert gw.wait_for_log("TLS handshake failed (backend.tls is required, expected name "
                           "other.test)")
    assert "MAIL" not in " ".join(backend.commands())


def test_required_tls_with_an_untrusted_chain_fails_with_4xx(start_gateway, backend, pki,
                                                             stranger):
    backend.tls_context = server_context(pki.backend)
    gw = start_gateway(backend=smtp_backend(backend.port, tls="required",
                                            ca_file=str(stranger.ca.cert),
                                            expected_name="backend.test"))
    reply = deliver(gw.port)
    assert reply.code == 451, str(reply)
    assert gw.wait_for_log("certificate verify failed")
    assert backend.transactions == []


def test_required_tls_without_starttls_at_the_backend_fails(start_gateway, backend, pki):
    gw = start_gateway(backend=smtp_backend(backend.port, tls="required",
                                            ca_file=str(pki.ca.cert)))
    reply = deliver(gw.port)
    assert reply.code == 451, str(reply)
    assert gw.wait_for_log("does not offer STARTTLS, and backend.tls is required")
    assert backend.transactions == []


def test_opportunistic_tls_does_not_fail_on_verification(start_gateway, backend, pki):
    """An unverifiable certificate (no ca_file, a private CA) still gets TLS and the mail."""
    backend.tls_context = server_context(pki.backend)
    gw = start_gateway(backend=smtp_backend(backend.port, tls="opportunistic"))
    assert deliver(gw.port).code == 250
    assert backend.wait_for_transactions(1)[0].tls


def test_opportunistic_tls_without_starttls_goes_plain(start_gateway, backend):
    gw = start_gateway(backend=smtp_backend(backend.port, tls="opportunistic"))
    assert deliver(gw.port).code == 250
    transaction = backend.wait_for_transactions(1)[0]
    assert not transaction.tls
    assert "STARTTLS" not in backend.commands()


def test_connection_is_reused_over_tls(start_gateway, backend, pki):
    backend.tls_context = server_context(pki.backend)
    gw = start_gateway(backend=smtp_backend(backend.port, tls="required",
                                            ca_file=str(pki.ca.cert)))
    with RawClient(gw.port) as client:
        open_session(client)
        for _ in range(3):
            assert send_message(client, SENDER, [RCPT], CONTENT).code == 250
    assert len(backend.wait_for_transactions(3)) == 3
    assert backend.connection_count == 1
    assert all(t.tls for t in backend.transactions)


@pytest.mark.parametrize("settings, message", [
    ({"ca_file": "/nonexistent/ca.pem", "tls": "required"}, "backend.ca_file: cannot read"),
    ({"ca_file": "/etc/hostname"}, "backend.ca_file: only used when backend.tls is "
                                   "opportunistic or required"),
    ({"tls": "sometimes"}, "backend.tls: expected one of none, opportunistic, required"),
    ({"tls": "required", "expected_name": "bad name"}, "is not a host name or address"),
])
def test_backend_tls_config_errors(build, backend, tmp_path, settings, message):
    config = gateway_config(build, backend.port,
                            backend=smtp_backend(backend.port, **settings))
    path = write_config(tmp_path / "c.yaml", config)
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


def test_opportunistic_tls_retries_in_plaintext_after_a_failed_handshake(start_gateway,
                                                                        backend, pki):
    context = server_context(pki.backend)
    with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    backend.tls_context = context
    gw = start_gateway(backend=smtp_backend(backend.port, tls="opportunistic"))
    assert deliver(gw.port).code == 250
    transaction = backend.wait_for_transactions(1)[0]
    assert not transaction.tls
    assert backend.connection_count == 2
    assert gw.wait_for_log("TLS handshake failed, retrying without TLS")


XCLIENT = "XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT"


def test_xclient_comes_after_starttls(start_gateway, backend, pki):
    """Postfix's order on a TLS connection: EHLO, STARTTLS, EHLO, XCLIENT, EHLO; the XCLIENT
    attributes travel inside TLS and are in force for the message."""
    backend.tls_context = server_context(pki.backend)
    backend.ehlo_extra = [XCLIENT]
    gw = start_gateway(backend=smtp_backend(backend.port, tls="required",
                                            ca_file=str(pki.ca.cert),
                                            expected_name="backend.test"))
    assert deliver(gw.port).code == 250
    transaction = backend.wait_for_transactions(1)[0]
    assert transaction.tls
    assert transaction.xclient["ADDR"] == "127.0.0.1"
    (session,) = backend.sessions
    verbs = [c.split()[0].upper() for c in session.commands]
    assert verbs[:6] == ["EHLO", "STARTTLS", "EHLO", "XCLIENT", "EHLO", "MAIL"], session.commands
    assert b"XCLIENT" not in bytes(session.raw).split(b"STARTTLS")[0]


def test_each_route_has_its_own_tls(build, start_gateway, backend, pki):
    """The default route stays plain, a route with tls: required verifies with its own CA, and
    an LMTP route over TCP does STARTTLS between two LHLOs."""
    backend.tls_context = server_context(pki.backend)  # offered, but this route has tls: none
    with running_backend() as routed, running_backend(lmtp=True) as lmtp:
        routed.tls_context = server_context(pki.backend)
        lmtp.tls_context = server_context(pki.backend)
        routes = [
            {"domains": ["routed.test"],
             "backend": smtp_backend(routed.port, tls="required", ca_file=str(pki.ca.cert),
                                     expected_name="backend.test")},
            {"domains": ["lmtp.test"],
             "backend": {"type": "lmtp", "servers": [f"127.0.0.1:{lmtp.port}"],
                         "command_timeout": "5s", "tls": "required",
                         "ca_file": str(pki.ca.cert)}},
        ]
        domains = ("example.test", "routed.test", "lmtp.test")
        gw = start_gateway(routes=routes,
                           plugins=[relay_access_entry(build, local_domains=domains)])
        with RawClient(gw.port) as client:
            open_session(client)
            for rcpt in (RCPT, "user@routed.test", "user@lmtp.test"):
                assert send_message(client, SENDER, [rcpt], CONTENT).code == 250
        assert not backend.wait_for_transactions(1)[0].tls
        assert "STARTTLS" not in backend.commands()
        assert routed.wait_for_transactions(1)[0].tls
        assert lmtp.wait_for_transactions(1)[0].tls
        verbs = [c.split()[0].upper() for c in lmtp.commands()]
        assert verbs[:4] == ["LHLO", "STARTTLS", "LHLO", "MAIL"]


def test_route_tls_errors_are_located(build, backend, tmp_path):
    """A route's CA file is checked at load, and TLS with a unix-socket server is refused."""
    config = gateway_config(build, backend.port, routes=[
        {"domains": ["a.test"],
         "backend": smtp_backend(backend.port, tls="required", ca_file="/nonexistent/ca.pem")},
        {"domains": ["b.test"],
         "backend": {"type": "lmtp", "servers": ["unix:/run/dovecot/lmtp"],
                     "tls": "opportunistic"}},
    ])
    path = write_config(tmp_path / "c.yaml", config)
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1
    assert ("routes[1].backend.tls: TLS is only for TCP servers, but routes[1].backend.servers "
            "has unix:/run/dovecot/lmtp (use tls: none for a unix socket)") in result.stderr
    # the located YAML error stops the load before the files are read; alone, the CA file:
    config["routes"].pop()
    write_config(path, config)
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1
    assert "routes[0].backend.ca_file: cannot read '/nonexistent/ca.pem'" in result.stderr
