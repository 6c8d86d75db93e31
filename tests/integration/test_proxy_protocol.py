"""server.proxy_protocol: a listener behind a load balancer reads HAProxy's PROXY header (v1 text
or v2 binary) before the greeting, and the address in it is the client's address for everything:
logs, the Received header, plugins and the per-address limits. Untrusted peers, malformed or late
headers are closed without a greeting, and logged."""

import signal
import socket
import struct
import time

import pytest

from mailgate_process import LOCAL_DOMAIN, relay_access_entry
from smtp_client import RawClient, open_session, send_message

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
RCPT = f"user@{LOCAL_DOMAIN}"


def v1(source: str, port: int = 40000, destination: str = "192.0.2.25", family: str = "TCP4"):
    return f"PROXY {family} {source} {destination} {port} 25\r\n".encode()


def v2(source: str, port: int = 40000, destination: str = None, command: int = 1,
       tlvs: bytes = b"") -> bytes:
    """A v2 header for TCP over IPv4 or IPv6 (by the form of `source`)."""
    family = socket.AF_INET6 if ":" in source else socket.AF_INET
    destination = destination or ("2001:db8::25" if family == socket.AF_INET6 else "192.0.2.25")
    block = (socket.inet_pton(family, source) + socket.inet_pton(family, destination) +
             struct.pack(">HH", port, 25) + tlvs)
    family_byte = 0x21 if family == socket.AF_INET6 else 0x11
    return V2_SIGNATURE + bytes([0x20 | command, family_byte]) + struct.pack(">H", len(block)) + block


def v2_local() -> bytes:
    return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack(">H", 0)


def proxy_server(trusted=("127.0.0.0/8",), timeout="2s") -> dict:
    return {"proxy_protocol": {"listeners": "LISTEN", "trusted_networks": list(trusted),
                               "timeout": timeout}}


def proxied_client(port: int, header: bytes, source: str = None) -> RawClient:
    client = RawClient(port, source=source)
    client.send(header)
    return client


def deliver_through(gw, header: bytes, sender: str) -> None:
    with proxied_client(gw.port, header) as client:
        open_session(client)
        reply = send_message(client, sender, [RCPT], b"Subject: proxied\r\n\r\nhi\r\n")
        assert reply.code == 250, str(reply)
        client.command("QUIT")


def received_of(tx) -> str:
    return tx.data.split(b"\r\n", 1)[0].decode()


@pytest.fixture
def proxy_gw(start_gateway):
    return start_gateway(server=proxy_server())


@pytest.mark.parametrize("header,client_ip", [
    (v1("203.0.113.9"), "203.0.113.9"),
    (v1("2001:db8::9", family="TCP6", destination="2001:db8::25"), "2001:db8::9"),
    (v2("198.51.100.7"), "198.51.100.7"),
    (v2("2001:db8:5::7", tlvs=b"\x04\x00\x02ab\x01\x00\x04smtp"), "2001:db8:5::7"),
], ids=["v1-tcp4", "v1-tcp6", "v2-inet", "v2-inet6-tlvs"])
def test_header_address_is_the_client(proxy_gw, backend, header, client_ip):
    """The address in the header is in the Received header and the summary log line."""
    sender = f"proxied-{client_ip.replace(':', '-')}@remote.example"
    deliver_through(proxy_gw, header, sender)
    (tx,) = backend.wait_for_transactions(1)
    assert f"[{client_ip}]" in received_of(tx) or f"IPv6:{client_ip}" in received_of(tx), \
        received_of(tx)
    assert "127.0.0.1" not in received_of(tx)
    assert proxy_gw.wait_for_log(f"client={client_ip} ")


@pytest.mark.parametrize("header", [v2_local(), b"PROXY UNKNOWN\r\n",
                                    V2_SIGNATURE + b"\x21\x00\x00\x00"],
                         ids=["v2-local", "v1-unknown", "v2-unspec"])
def test_header_without_address_keeps_the_socket_address(proxy_gw, backend, header):
    """v2 LOCAL (a balancer's health check), v1 UNKNOWN and v2 UNSPEC: the real peer is used."""
    deliver_through(proxy_gw, header, "local@remote.example")
    (tx,) = backend.wait_for_transactions(1)
    assert "127.0.0.1" in received_of(tx), received_of(tx)
    assert proxy_gw.wait_for_log("client=127.0.0.1 ")


def test_header_split_across_segments(proxy_gw):
    """A header arriving a few bytes at a time is read whole."""
    header = v2("192.0.2.77")
    with RawClient(proxy_gw.port) as client:
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(header), 5):
            client.send(header[i:i + 5])
            time.sleep(0.01)
        open_session(client)
        assert client.command("QUIT").code == 221


MALFORMED = {
    "smtp-without-header": b"EHLO client.example\r\n",
    "tls-hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00",
    "v1-bad-address": b"PROXY TCP4 203.0.113.300 192.0.2.25 1 25\r\n",
    "v1-bare-lf": b"PROXY TCP4 203.0.113.9 192.0.2.25 1 25\n",
    "v1-too-long": b"PROXY UNKNOWN " + b"x" * 120 + b"\r\n",
    "v1-then-early-talk": b"PROXY TCP4 203.0.113.9 192.0.2.25 1 25\r\nEHLO x\r\n",
    "v2-bad-version": V2_SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12),
    "v2-udp": V2_SIGNATURE + b"\x21\x12\x00\x0c" + bytes(12),
    "v2-short-block": V2_SIGNATURE + b"\x21\x21\x00\x0c" + bytes(12),
    "v2-bad-tlv": v2("203.0.113.9", tlvs=b"\x04\x00\x09ab"),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_header_closes_without_greeting(proxy_gw, data):
    """Anything but one valid header: closed at once, not a byte of SMTP sent, and logged."""
    with RawClient(proxy_gw.port) as client:
        client.send(data)
        assert client.wait_closed(3.0)
        assert client.pending(0.1) == b""
    assert proxy_gw.wait_for_log("PROXY listener: connection from 127.0.0.1:")
    assert "malformed PROXY header" in proxy_gw.log_text() or \
        "client data right after the PROXY header" in proxy_gw.log_text()


def test_silent_or_partial_header_times_out(start_gateway):
    """No header, or half of one, within proxy_protocol.timeout (1s): closed without greeting."""
    gw = start_gateway(server=proxy_server(timeout="1s"))
    for data in (b"", v2("203.0.113.9")[:20]):
        started = time.monotonic()
        with RawClient(gw.port) as client:
            client.send(data)
            received = client.pending(4.0)
            assert client.eof
        assert received == b""
        assert 0.8 < time.monotonic() - started < 3.5
    assert gw.wait_for_log("no complete PROXY header in time")


def test_untrusted_peer_is_closed_without_greeting(start_gateway):
    """Only trusted_networks may send a header: 127.0.0.1 is refused even with a valid one,
    127.0.0.2 is served."""
    gw = start_gateway(server=proxy_server(trusted=["127.0.0.2/32"]))
    with proxied_client(gw.port, v1("203.0.113.9")) as client:
        assert client.wait_closed(3.0)
        assert client.pending(0.1) == b""
    assert gw.wait_for_log("not in server.proxy_protocol.trusted_networks")
    with proxied_client(gw.port, v1("203.0.113.9"), source="127.0.0.2") as client:
        open_session(client)


def test_per_address_limit_counts_the_proxied_address(start_gateway):
    """max_connections_per_ip 1: a second session from the same proxied address gets 421 4.7.0,
    one from another address behind the same balancer gets in."""
    gw = start_gateway(server=proxy_server(), limits={"max_connections_per_ip": 1})
    first = proxied_client(gw.port, v1("203.0.113.9"))
    assert first.greeting().code == 220
    with proxied_client(gw.port, v1("203.0.113.9", port=40001)) as second:
        reply = second.greeting()
        assert (reply.code, reply.enhanced) == (421, "4.7.0"), str(reply)
        assert "from your address" in reply.text
    with proxied_client(gw.port, v2("203.0.113.10")) as other:
        assert other.greeting().code == 220
    first.close()
    assert gw.wait_for_log("too many connections from 203.0.113.9, refused")


def test_rate_limit_counts_the_proxied_address(start_gateway):
    """max_connection_rate_per_ip 2 per minute, applied to the proxied address; IPv6 clients of
    one /64 share a budget."""
    gw = start_gateway(server=proxy_server(),
                       limits={"max_connection_rate_per_ip": 2, "connection_rate_window": "1m"})
    codes = []
    for n in range(3):
        with proxied_client(gw.port, v2(f"2001:db8:1:2::{n + 1}")) as client:
            codes.append(client.greeting().code)
    assert codes == [220, 220, 421]
    with proxied_client(gw.port, v2("2001:db8:1:3::1")) as client:
        assert client.greeting().code == 220
    assert gw.wait_for_log("connection rate limit exceeded by 2001:db8:1:2::/64, refused")


def test_plugins_see_the_proxied_address(start_gateway, build, backend):
    """relay_access trusts 203.0.113.0/24: relaying is allowed for a client proxied from there and
    refused for another, both arriving from 127.0.0.1."""
    plugin = relay_access_entry(build, trusted_networks=["203.0.113.0/24"])
    gw = start_gateway(server=proxy_server(), plugins=[plugin])
    with proxied_client(gw.port, v1("203.0.113.50")) as client:
        open_session(client)
        assert client.command("MAIL FROM:<a@remote.example>").code == 250
        assert client.command("RCPT TO:<x@foreign.example>").code == 250
    with proxied_client(gw.port, v1("198.51.100.50")) as client:
        open_session(client)
        assert client.command("MAIL FROM:<a@remote.example>").code == 250
        reply = client.command("RCPT TO:<x@foreign.example>")
        assert (reply.code, reply.enhanced) == (550, "5.7.1"), str(reply)


def test_plain_listener_treats_a_header_as_a_bad_command(start_gateway):
    """Without proxy_protocol a PROXY line is only a bad command: nobody can forge an address."""
    gw = start_gateway()
    with RawClient(gw.port) as client:
        assert client.greeting().code == 220
        reply = client.command(v1("203.0.113.9"))
        assert (reply.code, reply.enhanced) == (500, "5.5.1"), str(reply)
        assert client.command("EHLO client.example").code == 250


def test_pending_header_holds_a_connection_slot(start_gateway):
    """A connection still owing its header counts toward max_connections (1): the next one gets
    421 4.7.0; once the first is closed at its timeout, the slot is free again."""
    gw = start_gateway(server=proxy_server(timeout="1s"), limits={"max_connections": 1})
    with RawClient(gw.port) as silent:
        time.sleep(0.2)
        with proxied_client(gw.port, v1("203.0.113.9")) as second:
            reply = second.greeting()
            assert (reply.code, reply.enhanced) == (421, "4.7.0"), str(reply)
        assert silent.wait_closed(3.0)
    time.sleep(0.2)
    with proxied_client(gw.port, v1("203.0.113.9")) as third:
        assert third.greeting().code == 220


def test_shutdown_waits_at_most_the_header_timeout(start_gateway):
    """SIGTERM while a connection owes its header: mailgate exits 0 within the header timeout."""
    gw = start_gateway(server=proxy_server(timeout="2s"))
    with RawClient(gw.port) as silent:
        time.sleep(0.2)
        started = time.monotonic()
        gw.send_signal(signal.SIGTERM)
        assert gw.wait_exit(10) == 0
        assert time.monotonic() - started < 5
        assert silent.pending(0.5) == b""
