"""A private dnsmasq on loopback serving test DNS lists, and a resolver that never answers."""

import socket
import subprocess
import time
from pathlib import Path

DNSMASQ = "/usr/sbin/dnsmasq"
START_TIMEOUT = 5.0
START_ATTEMPTS = 3


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dnsmasq:
    """dnsmasq on 127.0.0.1:PORT, authoritative for `zones` (other names there get NXDOMAIN),
    answering `records` {name: address}. Every query is logged, so tests can count them."""

    def __init__(self, workdir: Path, zones, records: dict, ttl: int = 60):
        self.workdir = workdir
        self.zones = list(zones)
        self.records = dict(records)
        self.ttl = ttl
        self.log_path = workdir / "dnsmasq.log"
        self.proc = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _command(self, port: int) -> list[str]:
        command = [DNSMASQ, "--no-daemon", f"--port={port}", "--listen-address=127.0.0.1",
                   "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                   "--pid-file=", "--user=root", "--log-queries", "--log-facility=-",
                   f"--local-ttl={self.ttl}", f"--neg-ttl={self.ttl}"]
        command += [f"--local=/{zone}/" for zone in self.zones]
        command += [f"--host-record={name},{address}" for name, address in self.records.items()]
        return command

    def start(self) -> "Dnsmasq":
        for _ in range(START_ATTEMPTS):
            port = free_udp_port()
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(self._command(port), stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log)
            self.port = port
            if self._wait_started():
                return self
            self.stop()
        raise RuntimeError(f"dnsmasq did not start; log:\n{self.log_text()}")

    def _wait_started(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if "started, version" in self.log_text():
                return True
            time.sleep(0.05)
        return False

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def queries(self, name: str) -> int:
        """How many A queries for `name` dnsmasq has received."""
        return self.log_text().count(f"query[A] {name} from")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class SilentResolver:
    """A UDP socket on loopback that reads queries and never answers: a dead resolver that
    makes every lookup time out (a closed port would fail at once with ICMP instead)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()
