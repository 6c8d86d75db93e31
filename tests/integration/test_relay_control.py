"""No open relay: relay_access accepts local domains and trusted clients, refuses every trick."""

import pytest

from mailgate_process import relay_access_entry
from smtp_client import RawClient, open_session, smtp

SENDER = "sender@remote.example"

# Each of these would send mail to other.example (or to an IP) if taken at face value.
RELAY_TRICKS = [
    "user@other.example",
    "user%other.example@example.test",
    "other.example!user@example.test",
    '"user@other.example"@example.test',
    "@example.test:user@other.example",
    "user@[127.0.0.1]",
    "user@[IPv6:::1]",
    "user@other.example.",
    "USER@OTHER.EXAMPLE",
    "user@example.test.",
]


@pytest.fixture(scope="module")
def gw(module_start_gateway):
    return module_start_gateway()


def rcpt_reply(port: int, address: str):
    with RawClient(port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        reply = client.command(f"RCPT TO:<{address}>")
        client.command("QUIT")
    return reply


@pytest.mark.parametrize("address", ["user@example.test", "user@EXAMPLE.TEST"])
def test_local_domain_accepted(gw, module_backend, address):
    """A local-domain recipient (any case) from an untrusted client gets the backend's 250."""
    reply = rcpt_reply(gw.port, address)
    assert reply.code == 250, str(reply)
    assert address.lower() in [a.lower() for a in module_backend.rcpt_addresses()]


@pytest.mark.parametrize("address", RELAY_TRICKS)
def test_relay_trick_refused(gw, module_backend, address):
    """An untrusted client cannot relay via this address: 550 5.7.1, no RCPT at the backend."""
    before = len(module_backend.rcpt_addresses())
    reply = rcpt_reply(gw.port, address)
    assert (reply.code, reply.enhanced) == (550, "5.7.1"), str(reply)
    assert len(module_backend.rcpt_addresses()) == before


def test_trusted_network_relays_anywhere(start_gateway, build, backend):
    """With 127.0.0.0/8 trusted, a foreign recipient is accepted and relayed to the backend."""
    gw = start_gateway(plugins=[relay_access_entry(build, trusted_networks=["127.0.0.0/8"])])
    with smtp(gw.port) as client:
        assert client.sendmail(SENDER, ["user@other.example"], b"Subject: t\r\n\r\nx\r\n") == {}
    (tx,) = backend.wait_for_transactions(1)
    assert tx.rcpts == ["user@other.example"]


def test_no_plugins_relays_nothing(start_gateway, backend):
    """With an empty plugin list even a local recipient is refused 550 5.7.1."""
    gw = start_gateway(plugins=[])
    reply = rcpt_reply(gw.port, "user@example.test")
    assert (reply.code, reply.enhanced) == (550, "5.7.1"), str(reply)
    assert backend.rcpt_addresses() == []
