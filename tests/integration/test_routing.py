"""Backend groups: failover, retry delay after a failure, round robin, routes per recipient
domain (a recipient of another route gets 452 4.5.3), and the caps on reusing a connection."""

import time
from contextlib import ExitStack

import pytest

from conftest import running_backend
from mailgate_process import free_port, relay_access_entry, smtp_backend
from smtp_client import RawClient, open_session, send_message, smtp
from smtp_text import split_received

SENDER = "sender@remote.example"
BODY = b"Subject: routing\r\n\r\nhello\r\n"
ROUTED = "routed.test"
LOCAL_DOMAINS = ("example.test", ROUTED, ".routed.test")


@pytest.fixture
def backends():
    """backends(n) -> n more recording backends, all stopped at the end of the test."""
    with ExitStack() as stack:
        yield lambda n: [stack.enter_context(running_backend()) for _ in range(n)]


def plugins(build):
    return [relay_access_entry(build, local_domains=LOCAL_DOMAINS)]


def deliver_one(port: int, rcpt: str = "user@example.test") -> None:
    with smtp(port) as client:
        assert client.sendmail(SENDER, [rcpt], BODY) == {}


def test_failover_when_first_server_down(start_gateway, backend):
    """The first server refuses connections: the message goes through the second."""
    dead = free_port()
    gw = start_gateway(backend=smtp_backend(dead, backend.port))
    deliver_one(gw.port)
    (tx,) = backend.wait_for_transactions(1)
    assert split_received(tx.data)[1] == BODY
    assert f"backend 127.0.0.1:{dead}: connect:" in gw.log_text()


def test_retry_delay_skips_failed_server(start_gateway, backend, backends):
    """A server that failed (421 greeting) is not tried again within retry_delay, then is."""
    (sick,) = backends(1)
    sick.greeting = "421 4.3.2 backend.test not now"
    gw = start_gateway(backend=smtp_backend(sick.port, backend.port, retry_delay="2s"))
    deliver_one(gw.port)
    assert sick.connection_count == 1
    deliver_one(gw.port)  # within the retry delay: straight to the good server
    deliver_one(gw.port)
    assert sick.connection_count == 1
    assert len(backend.wait_for_transactions(3)) == 3
    time.sleep(2.3)
    deliver_one(gw.port)  # the delay is over: the first server is tried again (and fails)
    assert sick.connection_count == 2
    assert len(backend.wait_for_transactions(4)) == 4


def test_all_servers_down_are_still_tried(start_gateway, backends):
    """When every server is marked down, they are tried anyway: one that came back is used."""
    first, second = backends(2)
    first.greeting = second.greeting = "421 4.3.2 backend.test not now"
    gw = start_gateway(backend=smtp_backend(first.port, second.port, retry_delay="1m"))
    with RawClient(gw.port) as client:
        open_session(client)
        reply = client.command(f"MAIL FROM:<{SENDER}>")
        assert (reply.code, reply.enhanced) == (451, "4.4.1"), str(reply)
    second.greeting = "220 backend.test ESMTP back again"
    deliver_one(gw.port)
    (tx,) = second.wait_for_transactions(1)
    assert split_received(tx.data)[1] == BODY
    assert first.connection_count == 2 and second.connection_count == 2


def test_round_robin_spreads_connections(start_gateway, backends):
    """balance: round_robin starts each new backend connection at the next server in turn."""
    servers = backends(3)
    gw = start_gateway(backend=smtp_backend(*(b.port for b in servers), balance="round_robin"))
    for _ in range(6):
        deliver_one(gw.port)
    assert [b.connection_count for b in servers] == [2, 2, 2]
    assert [len(b.transactions) for b in servers] == [2, 2, 2]


def test_failover_always_starts_at_first(start_gateway, backends):
    """balance: failover (the default) uses the first server while it is up."""
    servers = backends(2)
    gw = start_gateway(backend=smtp_backend(*(b.port for b in servers)))
    for _ in range(3):
        deliver_one(gw.port)
    assert [len(b.transactions) for b in servers] == [3, 0]


def routed_gateway(start_gateway, build, default, routed, **route_backend):
    return start_gateway(
        backend=smtp_backend(default.port),
        routes=[{"domains": [ROUTED, ".sub.routed.test"],
                 "backend": smtp_backend(routed.port, **route_backend)}],
        plugins=plugins(build))


def test_route_by_recipient_domain(start_gateway, build, backend, backends):
    """Each message goes to the route of its recipients' domain; subdomains with a leading dot."""
    (routed,) = backends(1)
    gw = routed_gateway(start_gateway, build, backend, routed)
    deliver_one(gw.port, "user@example.test")
    deliver_one(gw.port, f"user@{ROUTED.upper()}")
    deliver_one(gw.port, "user@deep.sub.routed.test")
    deliver_one(gw.port, "user@other.routed.test")  # not listed: the default route
    assert [tx.rcpts for tx in backend.wait_for_transactions(2)] == [
        ["user@example.test"], ["user@other.routed.test"]]
    assert [tx.rcpts for tx in routed.wait_for_transactions(2)] == [
        [f"user@{ROUTED.upper()}"], ["user@deep.sub.routed.test"]]


def test_recipient_of_other_route_gets_452(start_gateway, build, backend, backends):
    """The first recipient fixes the route; one for another route gets 452 4.5.3 and the
    message goes to the first route's backend with the first route's recipients only."""
    (routed,) = backends(1)
    gw = routed_gateway(start_gateway, build, backend, routed)
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert backend.commands("MAIL") == []  # MAIL waits for the first recipient's route
        assert client.command("RCPT TO:<a@example.test>").code == 250
        split = client.command(f"RCPT TO:<b@{ROUTED}>")
        assert (split.code, split.enhanced) == (452, "4.5.3"), str(split)
        assert "separate transaction" in split.text
        assert client.command("RCPT TO:<c@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        assert client.read_reply().code == 250
        # The client sends the other recipient in a transaction of its own.
        assert send_message(client, SENDER, [f"b@{ROUTED}"], BODY).code == 250
    (tx,) = backend.wait_for_transactions(1)
    assert tx.rcpts == ["a@example.test", "c@example.test"]
    (routed_tx,) = routed.wait_for_transactions(1)
    assert routed_tx.rcpts == [f"b@{ROUTED}"]
    assert routed.rcpt_addresses() == [f"b@{ROUTED}"]


def test_route_moves_while_no_recipient_accepted(start_gateway, build, backend, backends):
    """A first recipient refused by its backend does not fix the route."""
    (routed,) = backends(1)
    backend.rcpt_replies = {"gone@example.test": "550 5.1.1 <gone@example.test>: User unknown"}
    gw = routed_gateway(start_gateway, build, backend, routed)
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert client.command("RCPT TO:<gone@example.test>").code == 550
        assert client.command(f"RCPT TO:<b@{ROUTED}>").code == 250
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        assert client.read_reply().code == 250
    assert routed.wait_for_transactions(1)[0].rcpts == [f"b@{ROUTED}"]
    backend.wait_for_command("RSET")  # the abandoned backend transaction was reset


def test_route_backend_mail_refusal_reaches_rcpt(start_gateway, build, backend, backends):
    """With routes, the backend's answer to MAIL comes back at the first RCPT."""
    (routed,) = backends(1)
    routed.mail_reply = "553 5.7.1 Sender refused by the routed backend"
    gw = routed_gateway(start_gateway, build, backend, routed)
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command(f"MAIL FROM:<{SENDER}>").code == 250
        reply = client.command(f"RCPT TO:<b@{ROUTED}>")
        assert (reply.code, reply.enhanced) == (553, "5.7.1"), str(reply)
        assert client.command("RCPT TO:<a@example.test>").code == 250
        assert client.command("DATA").code == 354
        client.send(BODY + b".\r\n")
        assert client.read_reply().code == 250
    assert backend.wait_for_transactions(1)[0].rcpts == ["a@example.test"]


def test_route_group_fails_over(start_gateway, build, backend, backends):
    """A route has its own servers with failover."""
    (routed,) = backends(1)
    gw = start_gateway(
        backend=smtp_backend(backend.port),
        routes=[{"domains": [ROUTED], "backend": smtp_backend(free_port(), routed.port)}],
        plugins=plugins(build))
    deliver_one(gw.port, f"user@{ROUTED}")
    assert routed.wait_for_transactions(1)[0].rcpts == [f"user@{ROUTED}"]
    assert backend.transactions == []


def test_max_messages_per_connection(start_gateway, backend):
    """After max_messages_per_connection transactions the connection is closed with QUIT and
    the next message opens a new one."""
    gw = start_gateway(backend=smtp_backend(backend.port, max_messages_per_connection=2))
    with RawClient(gw.port) as client:
        open_session(client)
        for _ in range(5):
            assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
    txs = backend.wait_for_transactions(5)
    assert [tx.session for tx in txs] == [1, 1, 2, 2, 3]
    backend.wait_for_closed(3)
    sessions = backend.sessions
    assert sessions[0].commands[-1] == "QUIT" and sessions[1].commands[-1] == "QUIT"


def test_max_connection_age(start_gateway, backend):
    """A kept connection older than max_connection_age is replaced before the next MAIL."""
    gw = start_gateway(backend=smtp_backend(backend.port, max_connection_age="1s"))
    with RawClient(gw.port) as client:
        open_session(client)
        assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
        assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
        time.sleep(1.2)
        assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
    txs = backend.wait_for_transactions(3)
    assert [tx.session for tx in txs] == [1, 1, 2]


def test_connection_reused_without_caps(start_gateway, backend):
    """With both caps at 0 (no limit), one backend connection serves every message."""
    gw = start_gateway(backend=smtp_backend(backend.port, max_messages_per_connection=0,
                                            max_connection_age="0"))
    with RawClient(gw.port) as client:
        open_session(client)
        for _ in range(4):
            assert send_message(client, SENDER, ["user@example.test"], BODY).code == 250
    assert [tx.session for tx in backend.wait_for_transactions(4)] == [1, 1, 1, 1]


def test_unix_socket_server(start_gateway, tmp_path):
    """A backend server written unix:/path is reached over a unix socket."""
    from recording_backend import RecordingBackend
    path = tmp_path / "backend.sock"
    unix = RecordingBackend().start(unix_path=path)
    try:
        gw = start_gateway(backend={"type": "smtp", "servers": [f"unix:{path}"],
                                    "connect_timeout": "2s", "command_timeout": "5s"})
        deliver_one(gw.port)
        (tx,) = unix.wait_for_transactions(1)
        assert split_received(tx.data)[1] == BODY
    finally:
        unix.stop()
