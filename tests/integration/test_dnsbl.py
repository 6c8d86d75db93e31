"""The dnsbl plugin through the real binary, asking a real dnsmasq on loopback: listed clients
(IPv4 and IPv6), return codes, allowlists, sender domains, a dead resolver, the cache, the
tempfail action and config errors. The test client is 127.0.0.1, so the lists name 127.0.0.1."""

import copy
import re
import signal
import subprocess
import threading
import time

import pytest

from dns_server import Dnsmasq, SilentResolver
from mailgate_process import (MailgateProcess, free_port, gateway_config, relay_access_entry,
                              run_mailgate, to_yaml, write_config)
from smtp_client import RawClient, open_session, send_message

SENDER = "sender@remote.example"
RCPT = "user@example.test"
CONTENT = b"Subject: dnsbl\r\n\r\nbody\r\n"
CLIENT_V4 = "1.0.0.127"
CLIENT_V6 = ".".join("1" + "0" * 31)  # ::1, nibble by nibble from the last


@pytest.fixture
def dns(tmp_path):
    servers = []

    def start(zones, records, ttl=60):
        server = Dnsmasq(tmp_path, zones, records, ttl).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def dnsbl_entry(build, resolver, zones, **settings):
    config = {"resolver": resolver, "timeout": "2s", "zones": zones, **settings}
    return {"name": "dnsbl", "path": str(build.plugin("dnsbl")), "config": config}


def gateway_with(start_gateway, build, entry):
    return start_gateway(plugins=[entry, relay_access_entry(build)])


def deliver(port, sender=SENDER):
    with RawClient(port, timeout=10) as client:
        open_session(client)
        reply = send_message(client, sender, [RCPT], CONTENT)
        client.command("QUIT")
    return reply


def test_listed_ipv4_client_refused_at_connect(start_gateway, build, backend, dns):
    """127.0.0.1 is listed in zen.test: 554 5.7.1 instead of the greeting, naming the zone."""
    server = dns(["zen.test"], {f"{CLIENT_V4}.zen.test": "127.0.0.2"})
    gw = gateway_with(start_gateway, build, dnsbl_entry(
        build, server.address, [{"zone": "zen.test", "weight": 10, "returns": ["127.0.0.2"]}]))
    with RawClient(gw.port, timeout=10) as client:
        greeting = client.greeting()
        assert (greeting.code, greeting.enhanced) == (554, "5.7.1"), str(greeting)
        assert "client [127.0.0.1] blocked using zen.test" in greeting.text
        assert client.wait_closed()
    assert "client 127.0.0.1 listed in zen.test (127.0.0.2), weight 10" in gw.log_text()
    assert server.queries(f"{CLIENT_V4}.zen.test") == 1
    assert backend.transactions == []


def test_return_codes(start_gateway, build, backend, dns):
    """Only answers in a zone's `returns` list: 127.0.0.10 is not 127.0.0.2, but it is in
    127.0.0.0/24. Scored only, so the message goes through with the one symbol."""
    server = dns(["exact.test", "net.test"], {f"{CLIENT_V4}.exact.test": "127.0.0.10",
                                              f"{CLIENT_V4}.net.test": "127.0.0.10"})
    gw = gateway_with(start_gateway, build, dnsbl_entry(build, server.address, [
        {"zone": "exact.test", "weight": 3, "returns": ["127.0.0.2"]},
        {"zone": "net.test", "weight": 4, "returns": ["127.0.0.0/24"], "symbol": "NET_LISTED"},
    ], action="score"))
    assert deliver(gw.port).code == 250
    assert gw.wait_for_log("outcome=accepted")
    assert "score=4.00 symbols=NET_LISTED(4.00)" in gw.log_text()


def test_allowlist_negative_weight(start_gateway, build, backend, dns):
    """Listed (+10) and allowlisted (-20): the total stays under the threshold, mail flows."""
    server = dns(["zen.test", "wl.test"], {f"{CLIENT_V4}.zen.test": "127.0.0.2",
                                           f"{CLIENT_V4}.wl.test": "127.0.10.2"})
    gw = gateway_with(start_gateway, build, dnsbl_entry(build, server.address, [
        {"zone": "zen.test", "weight": 10},
        {"zone": "wl.test", "weight": -20},
    ], threshold=5))
    assert deliver(gw.port).code == 250
    assert len(backend.wait_for_transactions(1, timeout=10)) == 1
    assert gw.wait_for_log("outcome=accepted")
    assert "score=-10.00 symbols=DNSBL_ZEN_TEST(10.00),DNSWL_WL_TEST(-20.00)" in gw.log_text()


def test_sender_domain_listed(start_gateway, build, backend, dns):
    """The sender domain is looked up at MAIL: a listed one is refused with the domain and the
    zone in the reply; another sender on the same connection is fine."""
    server = dns(["dbl.test"], {"spam.example.dbl.test": "127.0.1.2"})
    gw = gateway_with(start_gateway, build, dnsbl_entry(
        build, server.address, [{"zone": "dbl.test", "lookup": "sender_domain", "weight": 5}],
        threshold=5, reply={"code": 550, "text": "{sender_domain} is listed in {zones}"}))
    with RawClient(gw.port, timeout=10) as client:
        open_session(client)
        refused = client.command("MAIL FROM:<bulk@Spam.Example>")
        assert (refused.code, refused.enhanced) == (550, "5.7.1"), str(refused)
        assert refused.text.endswith("spam.example is listed in dbl.test")
        assert send_message(client, "someone@clean.example", [RCPT], CONTENT).code == 250
        client.command("QUIT")
    assert len(backend.wait_for_transactions(1, timeout=10)) == 1
    assert server.queries("spam.example.dbl.test") == 1
    assert server.queries("clean.example.dbl.test") == 1


def test_ipv6_client_reversed_nibbles(build, backend, dns, tmp_path):
    """A client on ::1 is looked up as its 32 reversed nibbles under the zone."""
    server = dns(["zen.test"], {f"{CLIENT_V6}.zen.test": "127.0.0.2"})
    config = gateway_config(build, backend.port, plugins=[
        dnsbl_entry(build, server.address, [{"zone": "zen.test"}]), relay_access_entry(build)])
    gw = start_on_ipv6_loopback(build, tmp_path, config)
    try:
        with RawClient(gw.port, timeout=10, host="::1") as client:
            greeting = client.greeting()
            assert greeting.code == 554, str(greeting)
            assert "client [::1] blocked using zen.test" in greeting.text
    finally:
        assert gw.stop() == 0
    assert server.queries(f"{CLIENT_V6}.zen.test") == 1


def start_on_ipv6_loopback(build, workdir, config) -> MailgateProcess:
    """mailgate listening on [::1] only (the shared fixture listens on 127.0.0.1)."""
    config = copy.deepcopy(config)
    port = free_port()
    config["server"]["listen"] = [f"[::1]:{port}"]
    process = MailgateProcess(build, workdir, "mailgate-v6")
    process.config_path.write_text(to_yaml(config), encoding="utf-8")
    with open(process.log_path, "wb") as log:
        process.proc = subprocess.Popen([str(build.binary), "--config", str(process.config_path)],
                                        cwd=workdir, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=log)
    process.port = port
    if not process.wait_for_log(f"listening on [::1]:{port}", 10):
        process.kill()
        pytest.fail(f"mailgate did not listen on [::1]; log:\n{process.log_text()}")
    return process


def test_dead_resolver_times_out_and_fails_open(start_gateway, build, backend):
    """A resolver that never answers: after the plugin's timeout the client is treated as not
    listed (logged), greeted and its mail delivered."""
    silent = SilentResolver()
    try:
        gw = gateway_with(start_gateway, build, dnsbl_entry(
            build, silent.address, [{"zone": "zen.test"}], timeout="300ms"))
        started = time.monotonic()
        with RawClient(gw.port, timeout=10) as client:
            open_session(client)
            waited = time.monotonic() - started
            assert send_message(client, SENDER, [RCPT], CONTENT).code == 250
        assert 0.3 <= waited < 2.0, waited
        assert len(backend.wait_for_transactions(1, timeout=10)) == 1
        assert (f"lookup of {CLIENT_V4}.zen.test failed (no answer within 300 ms); counted as "
                "not listed (fail open)") in gw.log_text()
    finally:
        silent.close()


def test_refusing_resolver_fails_open(start_gateway, build, backend):
    """Nothing listens on the resolver port: the lookup fails at once, the client passes."""
    gw = gateway_with(start_gateway, build, dnsbl_entry(
        build, f"127.0.0.1:{free_port()}", [{"zone": "zen.test"}]))
    assert deliver(gw.port).code == 250
    assert re.search(rf"lookup of {CLIENT_V4}\.zen\.test failed \([^)]+\); counted as not listed",
                     gw.log_text())


def test_cache_spares_the_second_query(start_gateway, build, backend, dns):
    """Two connections, one DNS query per name: the second is answered from the cache, for a
    listing and for a "not listed" alike. With the cache off, every connection asks again."""
    server = dns(["zen.test", "clean.test"], {f"{CLIENT_V4}.zen.test": "127.0.0.2"})
    zones = [{"zone": "zen.test", "weight": 2}, {"zone": "clean.test"}]
    gw = gateway_with(start_gateway, build, dnsbl_entry(build, server.address, zones,
                                                        action="score"))
    for _ in range(2):
        assert deliver(gw.port).code == 250
    assert server.queries(f"{CLIENT_V4}.zen.test") == 1
    assert server.queries(f"{CLIENT_V4}.clean.test") == 1
    assert gw.log_text().count("symbols=DNSBL_ZEN_TEST(2.00)") == 2

    uncached = gateway_with(start_gateway, build, dnsbl_entry(
        build, server.address, zones, action="score", cache={"max_entries": 0}))
    for _ in range(2):
        assert deliver(uncached.port).code == 250
    assert server.queries(f"{CLIENT_V4}.zen.test") == 3


def test_cache_entry_expires_with_its_ttl(start_gateway, build, backend, dns):
    """A record with a 1 s TTL is asked again once that second has passed."""
    server = dns(["zen.test"], {f"{CLIENT_V4}.zen.test": "127.0.0.2"}, ttl=1)
    gw = gateway_with(start_gateway, build, dnsbl_entry(
        build, server.address, [{"zone": "zen.test"}], action="score"))
    assert deliver(gw.port).code == 250
    time.sleep(1.2)
    assert deliver(gw.port).code == 250
    assert server.queries(f"{CLIENT_V4}.zen.test") == 2


def test_concurrent_sessions_all_refused(start_gateway, build, backend, dns):
    """Eight clients at once, on two I/O threads: each gets the refusal; sessions that ask
    while the same query is in flight share it, so there are at most eight queries."""
    server = dns(["zen.test"], {f"{CLIENT_V4}.zen.test": "127.0.0.2"})
    gw = start_gateway(server={"threads": 2}, plugins=[
        dnsbl_entry(build, server.address, [{"zone": "zen.test"}]), relay_access_entry(build)])
    codes = []

    def connect():
        with RawClient(gw.port, timeout=10) as client:
            codes.append(client.greeting().code)

    clients = [threading.Thread(target=connect) for _ in range(8)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=15)
    assert codes == [554] * 8
    assert 1 <= server.queries(f"{CLIENT_V4}.zen.test") <= 8


def test_reload_while_a_lookup_is_pending(start_gateway, build, backend):
    """SIGHUP while a session waits on a silent resolver: the old instance finishes that lookup
    (fail open, the client is greeted and delivers), then goes; the gateway keeps running."""
    silent = SilentResolver()
    try:
        entry = dnsbl_entry(build, silent.address, [{"zone": "zen.test"}], timeout="1s")
        gw = gateway_with(start_gateway, build, entry)
        with RawClient(gw.port, timeout=10) as client:
            time.sleep(0.2)  # the connect hook is pending now
            config = gateway_config(build, backend.port,
                                    plugins=[entry, relay_access_entry(build)])
            write_config(gw.config_path, config, port=gw.port)
            gw.send_signal(signal.SIGHUP)
            assert gw.wait_for_log("configuration reloaded", timeout=10), gw.log_text()
            open_session(client)
            assert send_message(client, SENDER, [RCPT], CONTENT).code == 250
            client.command("QUIT")
        assert "counted as not listed (fail open)" in gw.log_text()
        assert gw.running()
    finally:
        silent.close()


def test_tempfail_action(start_gateway, build, backend, dns):
    """action: tempfail refuses the listed client with a 4xx naming the zone."""
    server = dns(["zen.test"], {f"{CLIENT_V4}.zen.test": "127.0.0.2"})
    gw = gateway_with(start_gateway, build, dnsbl_entry(
        build, server.address, [{"zone": "zen.test"}], action="tempfail"))
    with RawClient(gw.port, timeout=10) as client:
        greeting = client.greeting()
        assert greeting.code == 421, str(greeting)  # the host closes a connect tempfail with 421
        assert "listed by zen.test" in greeting.text
    assert backend.transactions == []


BAD_CONFIG = """\
server:
  listen: ["127.0.0.1:{port}"]
  hostname: mx.test.example
backend: {{type: smtp, servers: ["127.0.0.1:{port}"]}}
plugins:
  - name: dnsbl
    path: "{plugin}"
    config:
      resolver: "dns.example:53"
      action: bounce
      zones:
        - zone: zen.test
          returns: ["127.0.0.2", "127.0.0.300"]
          colour: red
"""


def test_config_errors_are_located(build, mailgate_binary, tmp_path):
    """Each mistake in the subtree is reported at its own FILE:LINE:COL."""
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG.format(port=free_port(), plugin=build.plugin("dnsbl")))
    result = run_mailgate(build, ["--check-config", str(path)], cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    located = re.findall(rf"^{re.escape(str(path))}:(\d+):(\d+): (.+)$", output, re.M)
    lines = {int(line): message for line, _column, message in located}
    assert "expected an IP address" in lines[9], output
    assert "must be reject, tempfail or score" in lines[10], output
    assert "127.0.0.300" in lines[13], output
    assert "unknown key" in lines[14], output


def test_missing_zones_is_a_config_error(build, mailgate_binary, tmp_path):
    config = gateway_config(build, free_port(), plugins=[
        {"name": "dnsbl", "path": str(build.plugin("dnsbl")), "config": {"threshold": 2}}])
    path = write_config(tmp_path / "nozones.yaml", config)
    result = run_mailgate(build, ["--check-config", str(path)], cwd=tmp_path)
    assert result.returncode == 1
    assert "at least one zone is required" in result.stdout + result.stderr


def test_policy_test_command_shows_the_listing(build, mailgate_binary, backend, dns, tmp_path):
    """`mailgate test --client-ip` asks the lists too: refused at connect, with the symbol."""
    server = dns(["zen.test"], {f"{CLIENT_V4}.zen.test": "127.0.0.2"})
    config = gateway_config(build, backend.port, plugins=[
        dnsbl_entry(build, server.address, [{"zone": "zen.test", "weight": 3}]),
        relay_access_entry(build)])
    path = write_config(tmp_path / "policy.yaml", config)
    message = tmp_path / "message.eml"
    message.write_bytes(CONTENT)
    result = run_mailgate(build, ["test", "--config", str(path), "--from", SENDER, "--rcpt", RCPT,
                                  "--client-ip", "127.0.0.1", str(message)], cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "symbol DNSBL_ZEN_TEST +3.00" in result.stdout
    assert "refused at connect by dnsbl: 554 5.7.1" in result.stdout
