#!/usr/bin/python3
"""mailgate benchmark: the bare smtp-sink, mailgate, Haraka 3 and Postfix, side by side.

Everything runs on 127.0.0.1 with free ports, in a temporary folder that is removed at the end.
Postfix's smtp-sink is the backend of every path; Postfix's smtp-source drives the load.

  bench/run.py              the load matrix (sink, mailgate, Haraka, Postfix; 12 loads)
  bench/run.py --idle       10,000 concurrent idle connections: mailgate's RSS
  bench/run.py --big        one 100 MB message through mailgate: its RSS growth
  bench/run.py --all        all three, in that order
  bench/run.py --smoke      a few seconds, sink + mailgate only; exit status 1 on any failure

See bench/README.md. Only the Python standard library is used.
"""

import argparse
import collections
import datetime
import hashlib
import json
import os
import platform
import pwd
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DEFAULT_BUILD = Path(os.environ.get("MAILGATE_BUILD_DIR") or ROOT / "build")
HARAKA_DIR = BENCH / "haraka"
HARAKA_BIN = HARAKA_DIR / "node_modules" / "Haraka" / "bin" / "haraka"
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")

HOST = "127.0.0.1"
SENDER = "from@bench.test"
RECIPIENT = "to@sink.test"  # smtp-source -N makes it 1to@, 2to@, ...
RELAY_DOMAIN = "sink.test"
CLIENT_NAME = "client.bench.test"
KIB = 1024
MIB = 1024 * KIB
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

START_TIMEOUT = 20.0  # until a server answers 220
STOP_WAIT = 5.0  # after SIGTERM, before SIGKILL
LOCKSTEP_SETTLE = 10.0  # in-session relays: the sink has every message when the client is done
QUEUE_DRAIN = 120.0  # Postfix: the most we wait for its queue to reach the sink
PROBE_MIN_SECONDS = 0.4  # a calibration probe must run at least this long
PROBE_MAX_ROUNDS = 8
MAX_MESSAGES = 400_000  # per measurement, whatever the calibration says
# Put in front of smtp-sink's and smtp-source's command lines (bench/context_switches.py
# --peers-batch runs them under "chrt -b 0"). Empty for every measurement of run.py itself.
PEER_COMMAND_PREFIX: list = []


class BenchError(Exception):
    """Something did not work: a server did not start, a client failed, a message went missing."""


class Interrupted(BaseException):
    """SIGINT/SIGTERM/SIGHUP: unwind, clean up, exit."""


# --- small helpers ---------------------------------------------------------------------------

def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def find_sbin(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))
    if not found:
        raise BenchError(f"{name} not found (Debian package postfix)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_greeting(port: int, timeout: float, alive=lambda: True) -> bool:
    """True once something on HOST:port answers 220 (bounded by timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=2) as sock:
                sock.settimeout(max(0.2, min(5.0, deadline - time.monotonic())))
                if sock.recv(512).startswith(b"220"):
                    try:
                        sock.sendall(b"QUIT\r\n")
                    except OSError:
                        pass
                    return True
        except OSError:
            pass
        if not alive():
            return False
        time.sleep(0.05)
    return False


# CPU in clock ticks: `cpu` is utime+stime, `children_cpu` cutime+cstime (reaped children),
# `user` and `children_user` the user-space part of each.
ProcStat = collections.namedtuple("ProcStat", "state cpu children_cpu user children_user")


def proc_stat(pid: int):
    """The ProcStat of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ProcStat(fields[0], utime + stime, cutime + cstime, utime, cutime)


def own_and_reaped(stat: ProcStat, leader: bool, user_only: bool) -> int:
    """A group member's CPU ticks; the leader's include the children it has reaped."""
    if user_only:
        return stat.user + (stat.children_user if leader else 0)
    return stat.cpu + (stat.children_cpu if leader else 0)


def proc_status(pid: int) -> dict:
    """The kB fields of /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile, ...) and Threads."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            parts = value.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0])
    except OSError:
        pass
    return out


def group_members(pgid: int) -> list:
    """The live processes of one process group (the leader first)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found, key=lambda pid: pid != pgid)


def reset_peak_rss(pid: int) -> bool:
    """Resets VmHWM to the current RSS (writing 5 to clear_refs; needs root or the owner)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def system_busy_ticks() -> int:
    """Busy clock ticks of all CPUs together (everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # guest time is already in user
    return total - fields[3] - fields[4]


def self_ticks() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round((usage.ru_utime + usage.ru_stime) * CLK_TCK)


def children_ticks() -> int:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((usage.ru_utime + usage.ru_stime) * CLK_TCK)


def raise_nofile(wanted: int) -> int:
    """Raises RLIMIT_NOFILE to at least `wanted` if it can; returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:  # root may raise the hard limit, up to fs.nr_open
            nr_open = int(Path("/proc/sys/fs/nr_open").read_text())
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, nr_open),) * 2)
            return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        except (OSError, ValueError):
            wanted = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def size_text(size: int) -> str:
    if size % MIB == 0:
        return f"{size // MIB}MB"
    if size % KIB == 0:
        return f"{size // KIB}KB"
    return f"{size}B"


# --- processes -------------------------------------------------------------------------------

class Processes:
    """Every process the benchmark starts, each in its own session (process group = its pid), so
    that cleanup can end exactly those groups, and nothing else."""

    def __init__(self):
        self.procs = []  # (name, Popen)
        self.cleanups = []  # callables, run last-in first-out

    def start(self, name, argv, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
        self.procs.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen, sig=signal.SIGTERM, wait=STOP_WAIT) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        try:  # the group may outlive its leader (children); SIGKILL whatever is left of it
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if proc.poll() is None:
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                log(f"warning: process {proc.pid} survived SIGKILL")
        self.procs = [(n, p) for n, p in self.procs if p is not proc]

    def cleanup(self) -> None:
        while self.cleanups:
            action = self.cleanups.pop()
            try:
                action()
            except Exception as error:  # cleanup goes on whatever one step did
                log(f"warning: cleanup: {error}")
        for _, proc in reversed(list(self.procs)):
            self.stop(proc)


# --- the sink --------------------------------------------------------------------------------

class Sink:
    """smtp-sink on a free port. Its -c counters (sess=N quit=N mesg=N, one record per update,
    ended by CR) go to a file opened with O_APPEND: that costs the sink nothing measurable,
    where a pipe read by this script slowed it by a fifth. The file is read when needed and
    truncated between measurements."""

    COUNTER = re.compile(rb"mesg=(\d+)\r")
    POLL = 0.01

    def __init__(self, procs: Processes, workdir: Path):
        self.procs = procs
        self.workdir = workdir
        self.port = 0
        self.proc = None
        self.target = 0
        self.last = 0
        self.counter_path = workdir / "smtp-sink.counters"
        self.stderr_path = workdir / "smtp-sink.stderr"

    def start(self) -> "Sink":
        binary = find_sbin("smtp-sink")
        for _ in range(3):
            self.port = free_port()
            argv = [*PEER_COMMAND_PREFIX, binary, "-c", "-m", "2048", "-t", "300"]
            if os.geteuid() == 0:
                argv += ["-u", "nobody"]
            argv += [f"{HOST}:{self.port}", "4096"]  # the last argument is the listen backlog
            with open(self.counter_path, "ab") as counters, \
                    open(self.stderr_path, "ab") as stderr:
                self.proc = self.procs.start("smtp-sink", argv, stdout=counters, stderr=stderr)
            if wait_greeting(self.port, START_TIMEOUT, self.alive):
                return self
            self.procs.stop(self.proc)
        raise BenchError(f"smtp-sink did not start: {self.stderr_path.read_text()[-2000:]}")

    def count(self) -> int:
        """Messages received so far (the sink's own counter)."""
        try:
            with open(self.counter_path, "rb") as counters:
                size = counters.seek(0, os.SEEK_END)
                counters.seek(max(0, size - 256))
                found = self.COUNTER.findall(counters.read())
        except OSError:
            return self.last
        if found:  # none right after a truncation, until the next message
            self.last = max(self.last, int(found[-1]))
        return self.last

    def expect(self, count: int) -> int:
        """Before a measurement: the sink must get `count` more messages. Returns the count
        so far. The counter file is emptied first when it has grown (no traffic now)."""
        start = self.count()
        try:
            if self.counter_path.stat().st_size > 1 * MIB:
                os.truncate(self.counter_path, 0)
        except OSError:
            pass
        self.target = start + count
        return start

    def wait_expected(self, timeout: float):
        """The monotonic time at which the expected count was seen (polled every 10 ms), or
        None after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            if self.count() >= self.target:
                return time.monotonic()
            if time.monotonic() >= deadline or not self.alive():
                return None
            time.sleep(self.POLL)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# --- the systems under test ------------------------------------------------------------------

class Target:
    """One path from smtp-source to the sink."""
    name = "?"
    queued = False  # True when the client's 250 comes before the sink has the message

    def __init__(self, procs: Processes, workdir: Path, sink: Sink):
        self.procs = procs
        self.workdir = workdir
        self.sink = sink
        self.port = 0

    def start(self):
        raise NotImplementedError

    def pids(self) -> list:
        """Processes whose CPU counts as this target's."""
        return []

    def cpu_ticks(self, user_only=False):
        total = 0
        for pid in self.pids():
            stat = proc_stat(pid)
            if stat:
                total += stat.user if user_only else stat.cpu
        return total

    def rss_pid(self):
        """The one process whose peak RSS is reported, or None."""
        return None

    def alive(self) -> bool:
        return True

    def diagnostics(self) -> str:
        return ""


class SinkDirect(Target):
    name = "sink"

    def start(self):
        self.port = self.sink.port
        return self

    def pids(self):
        return [self.sink.proc.pid]

    def rss_pid(self):
        return self.sink.proc.pid

    def alive(self):
        return self.sink.alive()


class ProcessGroupTarget(Target):
    """A path whose work is done by `self.proc` and the processes it forks (its group): every
    one of them counts, and the leader's cutime covers the children it has already reaped."""
    proc = None

    def pids(self):
        return group_members(self.proc.pid)

    def cpu_ticks(self, user_only=False):
        total = 0
        for pid in self.pids():
            stat = proc_stat(pid)
            if stat:
                total += own_and_reaped(stat, pid == self.proc.pid, user_only)
        return total

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Socat(ProcessGroupTarget):
    """socat relaying bytes to the sink, parsing nothing: the floor any proxy can reach. It forks
    a child per connection; TCP_NODELAY on both sides, as a tuned relay would have it."""
    name = "socat"

    def __init__(self, procs, workdir, sink):
        super().__init__(procs, workdir, sink)
        self.proc = None

    @staticmethod
    def available() -> bool:
        return shutil.which("socat") is not None

    def start(self):
        if not self.available():
            raise BenchError("socat is not installed (apt-get install socat)")
        for _ in range(3):
            self.port = free_port()
            self.proc = self.procs.start("socat", [
                "socat", f"TCP4-LISTEN:{self.port},bind={HOST},reuseaddr,fork,backlog=4096,nodelay",
                f"TCP4:{HOST}:{self.sink.port},nodelay"], stderr=subprocess.DEVNULL)
            if wait_greeting(self.port, START_TIMEOUT, self.alive):
                return self
            self.procs.stop(self.proc)
        raise BenchError("socat did not start")


# The shipped default chain's settings (config/mailgate.yaml), and a rewrite rule set of the kind
# config/rewrite.example.yaml shows: each rule kind once, so the cost is that of a real config.
REWRITE_RULES = """\
      sender_map:
        - {match: alice@old.example, to: alice@example.org}
        - {match: "@old.example", to: "@example.org"}
        - {regex: '^([^@+]+)\\+[^@]*@(.+)$', to: '\\1@\\2'}
      recipient_map:
        - {match: "@legacy.example", to: "@example.org"}
      address_headers: [From, To, Cc]
      header_rules:
        - {add: X-Gateway, value: mailgate}
        - {remove: X-Internal-Route}
        - {replace: Subject, regex: '^\\[SPAM\\] ', with: ''}
        - {prefix_subject: "[EXTERNAL] ", when: {sender_domain: [partner.example]}}"""


# The resolver of the dnsbl path: a private dnsmasq on loopback, started with that target.
DNSBL_RESOLVER = {"address": ""}


def start_dnsmasq(procs: Processes, workdir: Path) -> str:
    """dnsmasq on a free UDP port of 127.0.0.1, authoritative for the bench's test lists (every
    name there is NXDOMAIN: nothing is listed, as for most mail); returns host:port."""
    dnsmasq = "/usr/sbin/dnsmasq"
    if not os.path.exists(dnsmasq):
        raise BenchError("mg-dnsbl needs dnsmasq (apt-get install dnsmasq-base)")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    procs.start("dnsmasq", [dnsmasq, "--no-daemon", f"--port={port}", f"--listen-address={HOST}",
                            "--bind-interfaces", "--no-resolv", "--no-hosts",
                            "--conf-file=/dev/null", "--pid-file=", "--user=root",
                            "--local=/bl.bench.test/", "--local=/dbl.bench.test/"],
                stdout=subprocess.DEVNULL, stderr=open(workdir / "dnsmasq.err", "ab"))
    time.sleep(0.3)  # dnsmasq binds at once; a lost first query would only fail open
    return f"{HOST}:{port}"


def plugin_config_lines(plugin: str) -> list:
    if plugin == "relay_access":
        return ["    config:", '      trusted_networks: ["127.0.0.0/8"]']
    if plugin == "spam_score":
        return ["    config:", "      hostname: mailgate.bench.test",
                f'      rules_file: "{ROOT / "config" / "rules" / "spam_score.yaml"}"',
                "      actions: {add_headers: true, required_score: 5, reject: 15}"]
    if plugin == "rewrite":
        return ["    config: {}"]  # as shipped: no rules
    if plugin == "rewrite:rules":
        return ["    config:", REWRITE_RULES]
    if plugin == "dnsbl":
        # The cache is off: every connection and every MAIL asks the DNS server (the worst
        # case; with the default cache a repeat client or sender domain costs no query).
        return ["    config:", f'      resolver: "{DNSBL_RESOLVER["address"]}"',
                "      cache: {max_entries: 0}",
                "      zones:",
                "        - {zone: bl.bench.test, lookup: client_ip}",
                "        - {zone: dbl.bench.test, lookup: sender_domain}"]
    return []


class Mailgate(Target):
    """build/bin/mailgate with a config written into the work folder."""

    def __init__(self, procs, workdir, sink, build: Path, name="mailgate",
                 plugins=("relay_access",), max_connections=1000, max_message_size="25MiB",
                 nofile=0, wrapper=(), binary=None):
        super().__init__(procs, workdir, sink)
        self.binary = Path(binary) if binary else build / "bin" / "mailgate"
        self.wrapper = list(wrapper)  # e.g. valgrind --tool=callgrind ...
        self.name = name
        self.build = build
        self.plugins = plugins
        self.max_connections = max_connections
        self.max_message_size = max_message_size
        self.nofile = nofile
        self.proc = None
        self.dir = workdir / name
        self.stderr_path = self.dir / "mailgate.stderr"

    def config_text(self) -> str:
        lines = [
            "# Written by bench/run.py.",
            "server:",
            f'  listen: ["{HOST}:{self.port}"]',
            "  hostname: mailgate.bench.test",
            "  backlog: 4096",
            "limits:",
            "  greeting_delay: 0s",
            f"  max_connections: {self.max_connections}",
            # Every load comes from 127.0.0.1: the per-address limit must not be what is measured.
            f"  max_connections_per_ip: {self.max_connections}",
            f"  max_message_size: {self.max_message_size}",
            "  shutdown_timeout: 1s",
            f'  spill_directory: "{self.dir / "spill"}"',
            "backend:",
            "  type: smtp",
            f'  servers: ["{HOST}:{self.sink.port}"]',
            "  helo_name: mailgate.bench.test",
            f'plugin_dir: "{self.build / "plugins"}"',
            "plugins:",
        ]
        for plugin in self.plugins:
            lines.append(f"  - name: {plugin.split(':')[0]}")
            lines += plugin_config_lines(plugin)
        lines += ["log:", "  level: warning", ""]
        return "\n".join(lines)

    def _preexec(self):
        if self.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def start(self):
        binary = self.binary
        if not binary.exists():
            raise BenchError(f"{binary} not found: build first (cmake --build build)")
        for plugin in (p.split(":")[0] for p in self.plugins):
            if not (self.build / "plugins" / f"{plugin}.so").exists():
                raise BenchError(f"plugin {plugin}.so not built in {self.build / 'plugins'}")
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "spill").mkdir(exist_ok=True)
        config = self.dir / "mailgate.yaml"
        for _ in range(3):
            self.port = free_port()
            config.write_text(self.config_text())
            self.proc = self.procs.start(
                self.name, [*self.wrapper, str(binary), "--config", str(config)], cwd=self.dir,
                stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "ab"),
                preexec_fn=self._preexec if self.nofile else None)
            if wait_greeting(self.port, START_TIMEOUT * (4 if self.wrapper else 1), self.alive):
                return self
            self.procs.stop(self.proc)
        raise BenchError(f"{self.name} did not start:\n{self.diagnostics()}")

    def pids(self):
        return [self.proc.pid]

    def rss_pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def diagnostics(self):
        try:
            text = self.stderr_path.read_text(errors="replace")[-3000:]
        except OSError:
            text = ""
        status = "running" if self.alive() else f"exited with {self.proc.returncode}"
        return f"{self.name} ({status}); stderr tail:\n{text}"


RDNS_PLUGIN = """\
// Written by bench/run.py: answer the reverse lookup locally (there is no DNS here).
exports.hook_lookup_rdns = function (next, connection) {
    next(OK, 'localhost')
}
"""


class Haraka(ProcessGroupTarget):
    """Haraka 3 from bench/haraka/node_modules, in-session forwarding with queue/smtp_forward.
    It runs as a cluster master with one worker (smtp.ini nodes unset means 1), and the worker
    does the SMTP work: the whole group counts."""
    name = "haraka"

    def __init__(self, procs, workdir, sink):
        super().__init__(procs, workdir, sink)
        self.dir = workdir / "haraka"
        self.proc = None
        self.log_path = self.dir / "haraka.log"

    @staticmethod
    def available() -> bool:
        return HARAKA_BIN.exists() and shutil.which("node") is not None

    def write_config(self):
        config = self.dir / "config"
        (self.dir / "plugins").mkdir(parents=True, exist_ok=True)
        # Haraka's own defaults (as `haraka -i` would copy them), then ours on top.
        shutil.copytree(HARAKA_BIN.parents[1] / "config", config, dirs_exist_ok=True)
        (self.dir / "plugins" / "rdns_local.js").write_text(RDNS_PLUGIN)
        files = {
            # One process (no cluster): Haraka's default.
            "smtp.ini": f"listen={HOST}:{self.port}\nforce_shutdown_timeout=2\n",
            "plugins": "rdns_local\nrcpt_to.in_host_list\nqueue/smtp_forward\n",
            "host_list": f"{RELAY_DOMAIN}\n",
            "smtp_forward.ini": f"host={HOST}\nport={self.sink.port}\n",
            "log.ini": "[main]\nlevel=warn\ntimestamps=false\n",
            "me": "haraka.bench.test\n",
        }
        for name, text in files.items():
            (config / name).write_text(text)

    def start(self):
        if not self.available():
            raise BenchError("Haraka is not installed: npm ci --prefix bench/haraka")
        for _ in range(3):
            self.port = free_port()
            self.write_config()
            self.proc = self.procs.start(
                "haraka", ["node", str(HARAKA_BIN), "-c", str(self.dir)], cwd=self.dir,
                stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)
            if wait_greeting(self.port, START_TIMEOUT, self.alive):
                return self
            self.procs.stop(self.proc)
        raise BenchError(f"Haraka did not start:\n{self.diagnostics()}")

    def rss_pid(self):
        workers = [pid for pid in self.pids() if pid != self.proc.pid]
        return workers[0] if len(workers) == 1 else self.proc.pid

    def diagnostics(self):
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


POSTFIX_MAIN_CF = """\
# A private Postfix relay for bench/run.py (generated): relays {domain} to the sink, nothing else.
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
relay_domains = {domain}
transport_maps = inline:{{ {domain}=smtp:[{host}]:{sink_port} }}
alias_maps =
alias_database =
local_recipient_maps =
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtpd_peername_lookup = no
local_transport = error:5.1.1 local delivery is disabled in this instance
default_transport = error:5.7.1 only {domain} is relayed by this instance
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
biff = no
append_dot_mydomain = no
smtpd_banner = $myhostname ESMTP Postfix (mailgate bench)
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
"""

# No chroot; no pickup, no local delivery: only smtpd in and smtp out.
POSTFIX_MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{host}:{port} inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix(Target):
    """A private Postfix instance (postfix -c DIR/etc start) relaying to the sink after its queue.
    Its rate is measured end to end: until the sink has every message."""
    name = "postfix"
    queued = True

    def __init__(self, procs, workdir, sink):
        super().__init__(procs, workdir, sink)
        self.root = workdir / "postfix"
        self.etc = self.root / "etc"
        self.queue = self.root / "queue"
        self.command_log = self.root / "postfix-commands.log"
        self.master = None

    @staticmethod
    def available() -> bool:
        try:
            find_sbin("postfix")
            pwd.getpwnam("postfix")
            return os.geteuid() == 0
        except (BenchError, KeyError):
            return False

    def _postfix(self, action: str) -> int:
        with open(self.command_log, "ab") as out:
            out.write(f"$ postfix -c {self.etc} {action}\n".encode())
            out.flush()
            try:
                return subprocess.run([find_sbin("postfix"), "-c", str(self.etc), action],
                                      stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=30,
                                      start_new_session=True).returncode
            except subprocess.TimeoutExpired:
                return -1

    def start(self):
        if not self.available():
            raise BenchError("Postfix relay needs root and the postfix package")
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self.etc.mkdir(exist_ok=True)
        self.queue.mkdir(exist_ok=True)
        self.procs.cleanups.append(self.stop)
        for _ in range(3):
            self.port = free_port()
            (self.etc / "main.cf").write_text(POSTFIX_MAIN_CF.format(
                root=self.root, domain=RELAY_DOMAIN, host=HOST, sink_port=self.sink.port))
            (self.etc / "master.cf").write_text(POSTFIX_MASTER_CF.format(host=HOST,
                                                                         port=self.port))
            code = self._postfix("start")
            self.master = self._read_master_pid()
            if code == 0 and wait_greeting(self.port, START_TIMEOUT, self.alive):
                return self
            self.stop()
            if "address already in use" not in self.diagnostics().lower():
                break
        raise BenchError(f"private Postfix did not start:\n{self.diagnostics()}")

    def _read_master_pid(self):
        try:
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return None

    def _processes(self) -> dict:
        """pid -> process group of each live process working in this instance's queue folder
        (the master chdirs there before it forks, so all its daemons do too)."""
        found = {}
        queue = str(self.queue)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "cwd") != queue:
                    continue
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z":
                found[int(entry.name)] = int(fields[2])
        return found

    def pids(self):
        return list(self._processes())

    def cpu_ticks(self, user_only=False):
        # Daemons that exit between two readings are reaped by the master: their CPU moves to
        # its cutime/cstime, so live utime+stime plus the master's children stays continuous.
        total = 0
        for pid in self._processes():
            stat = proc_stat(pid)
            if stat:
                total += own_and_reaped(stat, pid == self.master, user_only)
        return total

    def alive(self):
        return self.master is not None and proc_stat(self.master) is not None

    def _wait_gone(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        left = self._processes()
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = self._processes()
        return left

    def stop(self):
        left = self._processes()
        if not left:
            return
        master = self._read_master_pid() or self.master
        if master in left:
            self._postfix("stop")
            left = self._wait_gone(STOP_WAIT)
        if master in left and left[master] == master:
            try:
                os.killpg(master, signal.SIGKILL)
            except ProcessLookupError:
                pass
            left = self._wait_gone(3.0)
        for pid in left:  # only processes confirmed to work in this instance's queue folder
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._wait_gone(3.0):
            log("warning: Postfix processes survived SIGKILL")

    def diagnostics(self):
        parts = []
        for path in (self.command_log, self.root / "maillog"):
            try:
                parts.append(f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:])
            except OSError:
                pass
        return "\n".join(parts)


# --- one measurement -------------------------------------------------------------------------

class Load:
    def __init__(self, sessions: int, size: int, per_session: bool):
        self.sessions = sessions
        self.size = size
        self.per_session = per_session  # smtp-source -d: many messages per connection

    @property
    def key(self) -> str:
        return f"{self.sessions}x{size_text(self.size)}{' -d' if self.per_session else ''}"

    @property
    def label(self) -> str:
        mode = "-d" if self.per_session else "1/conn"
        return f"{self.sessions:>3} x {size_text(self.size):>5} {mode}"

    def as_dict(self):
        return {"sessions": self.sessions, "size": self.size, "per_session": self.per_session,
                "key": self.key}


class Runner:
    def __init__(self, procs: Processes, sink: Sink, workdir: Path):
        self.procs = procs
        self.sink = sink
        self.workdir = workdir
        self.source = find_sbin("smtp-source")

    def source_argv(self, port: int, load: Load, count: int):
        argv = [*PEER_COMMAND_PREFIX, self.source, "-N", "-M", CLIENT_NAME, "-s",
                str(load.sessions), "-m", str(count), "-l", str(load.size), "-f", SENDER,
                "-t", RECIPIENT]
        if load.per_session:
            argv.append("-d")
        return argv + [f"{HOST}:{port}"]

    def measure(self, target: Target, load: Load, count: int, timeout: float) -> dict:
        """Sends `count` messages through `target`; returns the numbers or raises BenchError."""
        if not target.alive() or not self.sink.alive():
            raise BenchError(f"{target.name} is not running\n{target.diagnostics()}")
        rss_pid = target.rss_pid()
        peak_reset = reset_peak_rss(rss_pid) if rss_pid else False
        stderr_path = self.workdir / "smtp-source.stderr"
        start_count = self.sink.expect(count)
        cpu0, sink0, kids0 = target.cpu_ticks(), self.sink_ticks(), children_ticks()
        user0 = target.cpu_ticks(user_only=True)
        self0, busy0 = self_ticks(), system_busy_ticks()
        t0 = time.monotonic()
        with open(stderr_path, "wb") as err:
            proc = self.procs.start("smtp-source", self.source_argv(target.port, load, count),
                                    stdout=subprocess.DEVNULL, stderr=err)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.procs.stop(proc)
                raise BenchError(f"smtp-source timed out after {timeout:.0f} s on {target.name}"
                                 f" {load.key}\n{target.diagnostics()}")
        t_client = time.monotonic()
        self.procs.procs = [(n, p) for n, p in self.procs.procs if p is not proc]
        if code != 0:
            raise BenchError(f"smtp-source failed ({code}) on {target.name} {load.key}: "
                             f"{stderr_path.read_text(errors='replace')[-1000:].strip()}\n"
                             f"{target.diagnostics()}")
        settle = QUEUE_DRAIN if target.queued else LOCKSTEP_SETTLE
        reached = self.sink.wait_expected(settle)
        if reached is None:
            got = self.sink.count() - start_count
            raise BenchError(f"the sink got {got} of {count} messages from {target.name} "
                             f"{load.key} within {settle:.0f} s\n{target.diagnostics()}")
        t_end = max(t_client, reached)
        cpu = target.cpu_ticks() - cpu0
        user = target.cpu_ticks(user_only=True) - user0
        sink_cpu = self.sink_ticks() - sink0
        client_cpu = children_ticks() - kids0
        busy = system_busy_ticks() - busy0
        own = self_ticks() - self0
        if target is not None and target.name == "sink":
            sink_cpu = cpu
        status = proc_status(rss_pid) if rss_pid else {}
        elapsed = t_end - t0
        client_elapsed = t_client - t0
        tick_ms = 1000.0 / CLK_TCK
        foreign = busy - cpu - (0 if target.name == "sink" else sink_cpu) - client_cpu - own
        return {
            "messages": count,
            "seconds": round(elapsed, 4),
            "msgs_per_s": round(count / elapsed, 1),
            "client_msgs_per_s": round(count / client_elapsed, 1),
            "latency_ms": round(1000.0 * load.sessions * client_elapsed / count, 3),
            "cpu_ms_per_msg": round(cpu * tick_ms / count, 4),
            "user_cpu_ms_per_msg": round(user * tick_ms / count, 4),
            "sink_cpu_ms_per_msg": round(sink_cpu * tick_ms / count, 4),
            "client_cpu_ms_per_msg": round(client_cpu * tick_ms / count, 4),
            "cpu_cores": round(cpu / CLK_TCK / elapsed, 3),
            "other_cpu_cores": round(max(0, foreign) / CLK_TCK / elapsed, 3),
            "peak_rss_kb": status.get("VmHWM") if peak_reset or not rss_pid else None,
            "lifetime_peak_rss_kb": None if peak_reset else status.get("VmHWM"),
            "rss_kb": status.get("VmRSS"),
        }

    def sink_ticks(self) -> int:
        stat = proc_stat(self.sink.proc.pid)
        return stat.cpu if stat else 0

    def calibrate(self, target: Target, load: Load, seconds: float) -> tuple:
        """A few growing probes (which also warm the path up) until one lasts long enough;
        returns (messages for a `seconds`-long measurement, the last probe's result)."""
        count = load.sessions * (4 if load.per_session else 2)
        result = None
        for _ in range(PROBE_MAX_ROUNDS):
            result = self.measure(target, load, count, timeout=120.0)
            if result["seconds"] >= PROBE_MIN_SECONDS or count >= MAX_MESSAGES:
                break
            grow = PROBE_MIN_SECONDS / max(result["seconds"], 0.01)
            count = min(MAX_MESSAGES, max(count * 2, int(count * grow * 1.3)))
        wanted = int(result["msgs_per_s"] * seconds)
        return max(load.sessions * 2, min(MAX_MESSAGES, wanted)), result


# --- the matrix ------------------------------------------------------------------------------

FULL_LOADS = [Load(s, size, d) for size in (5 * KIB, 100 * KIB) for s in (1, 20, 100)
              for d in (True, False)]
SMOKE_LOADS = [(Load(1, 5 * KIB, True), 100), (Load(20, 5 * KIB, False), 100),
               (Load(20, 100 * KIB, True), 100)]


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 4) if values else None


def summarize(runs: list) -> dict:
    if not runs:
        return {}
    keys = ("msgs_per_s", "client_msgs_per_s", "latency_ms", "cpu_ms_per_msg",
            "user_cpu_ms_per_msg", "sink_cpu_ms_per_msg", "client_cpu_ms_per_msg", "cpu_cores", "other_cpu_cores")
    out = {key: median_of(runs, key) for key in keys}
    peaks = [r["peak_rss_kb"] for r in runs if r.get("peak_rss_kb")]
    out["peak_rss_kb"] = max(peaks) if peaks else None
    return out


def run_matrix(runner: Runner, targets: list, loads: list, repeats: int, seconds: float,
               fixed_counts=None) -> tuple:
    """Measures every (load, target) `repeats` times, interleaved: each repeat walks all loads
    and, within a load, all targets, so that a noisy moment hits every path alike."""
    cells = {}  # (load.key, target.name) -> {"count": n, "runs": [...], "error": str}
    failures = []
    counts = {}
    if fixed_counts is None:
        log(f"calibrating {len(loads) * len(targets)} cells ...")
        for load in loads:
            for target in targets:
                cell = cells.setdefault((load.key, target.name), {"runs": []})
                try:
                    counts[(load.key, target.name)], probe = runner.calibrate(target, load,
                                                                              seconds)
                    cell["probe"] = probe
                    log(f"  {load.label:22} {target.name:10} ~{probe['msgs_per_s']:>9.1f} msg/s"
                        f" -> {counts[(load.key, target.name)]} messages per run")
                except BenchError as error:
                    cell["error"] = str(error).splitlines()[0]
                    failures.append(f"{target.name} {load.key}: {error}")
                    log(f"  {load.label:22} {target.name:10} FAILED: {error}")
        estimate = sum(counts[k] / max(cells[k]["probe"]["msgs_per_s"], 0.1) + 0.3
                       for k in counts) * repeats
        log(f"measuring: {repeats} repeats, about {estimate / 60:.1f} min")
    else:
        counts = {(load.key, t.name): fixed_counts[i] for i, load in enumerate(loads)
                  for t in targets}
    for rep in range(repeats):
        for load in loads:
            for target in targets:
                key = (load.key, target.name)
                cell = cells.setdefault(key, {"runs": []})
                if key not in counts or cell.get("error"):
                    continue
                try:
                    result = runner.measure(target, load, counts[key],
                                            timeout=60.0 + 25 * seconds)
                    result["repeat"] = rep
                    cell["runs"].append(result)
                    log(f"  [{rep + 1}/{repeats}] {load.label:22} {target.name:10}"
                        f" {result['msgs_per_s']:>9.1f} msg/s")
                except BenchError as error:
                    cell["error"] = str(error).splitlines()[0]
                    failures.append(f"{target.name} {load.key}: {error}")
                    log(f"  [{rep + 1}/{repeats}] {load.label:22} {target.name:10} FAILED: "
                        f"{error}")
    rows = []
    for load in loads:
        sink_cell = cells.get((load.key, "sink"), {})
        sink_rate = summarize(sink_cell.get("runs", [])).get("msgs_per_s")
        for target in targets:
            cell = cells.get((load.key, target.name), {"runs": []})
            med = summarize(cell["runs"])
            ratio = None
            if med.get("msgs_per_s") and sink_rate:
                ratio = round(med["msgs_per_s"] / sink_rate, 3)
            # The same repeat's sink run was measured moments before: pairs cancel slow drifts.
            sink_by_rep = {r.get("repeat"): r["msgs_per_s"] for r in sink_cell.get("runs", [])}
            pairs = [r["msgs_per_s"] / sink_by_rep[r.get("repeat")] for r in cell["runs"]
                     if sink_by_rep.get(r.get("repeat"))]
            rows.append({"load": load.as_dict(), "target": target.name, "median": med,
                         "ratio_to_sink": ratio,
                         "paired_ratio": round(statistics.median(pairs), 3) if pairs else None,
                         "paired_ratio_range": [round(min(pairs), 3), round(max(pairs), 3)]
                         if pairs else None,
                         "runs": cell["runs"], "error": cell.get("error")})
    return rows, failures


def print_table(rows: list, out=sys.stdout) -> None:
    header = (f"{'load':22} {'path':12} {'msgs/s':>9} {'ratio':>6} {'paired':>6} {'lat ms':>8} "
              f"{'CPU ms/msg':>10} {'user':>6} {'peak RSS MB':>11} {'other CPU':>9}")
    print(header, file=out)
    print("-" * len(header), file=out)
    last = None
    for row in rows:
        load = Load(row["load"]["sessions"], row["load"]["size"], row["load"]["per_session"])
        label = load.label if load.key != last else ""
        last = load.key
        med = row["median"]
        if row.get("error") and not med:
            print(f"{label:22} {row['target']:12} FAILED: {row['error'][:60]}", file=out)
            continue

        def fmt(value, spec):
            return format(value, spec) if value is not None else "-"
        rss = med.get("peak_rss_kb")
        rss_text = f"{rss / 1024:.1f}" if rss else "-"
        print(f"{label:22} {row['target']:12} {fmt(med.get('msgs_per_s'), '9.0f')} "
              f"{fmt(row.get('ratio_to_sink'), '6.2f')} {fmt(row.get('paired_ratio'), '6.2f')} "
              f"{fmt(med.get('latency_ms'), '8.2f')} "
              f"{fmt(med.get('cpu_ms_per_msg'), '10.3f')} "
              f"{fmt(med.get('user_cpu_ms_per_msg'), '6.3f')} {rss_text:>11} "
              f"{fmt(med.get('other_cpu_cores'), '9.2f')}", file=out)


def plugin_costs(rows: list) -> list:
    """Per load, each plugin path's CPU time per message above the relay_access-only path."""
    costs = []
    base = {row["load"]["key"]: row["median"].get("cpu_ms_per_msg") for row in rows
            if row["target"] == "mailgate"}
    for row in rows:
        if row["target"] not in PLUGIN_TARGETS:
            continue
        cpu, cpu_base = row["median"].get("cpu_ms_per_msg"), base.get(row["load"]["key"])
        if cpu is None or cpu_base is None:
            continue
        load = Load(row["load"]["sessions"], row["load"]["size"], row["load"]["per_session"])
        costs.append({"load": load.label, "target": row["target"],
                      "plugins": [p for p in PLUGIN_TARGETS[row["target"]] if p != "relay_access"],
                      "cpu_ms_per_msg": cpu, "extra_cpu_ms_per_msg": round(cpu - cpu_base, 4)})
    return costs


def print_plugin_costs(costs: list, out=sys.stdout) -> None:
    if not costs:
        return
    print("plugin cost: CPU ms per message above the `mailgate` path (relay_access only)", file=out)
    for cost in costs:
        print(f"  {cost['load']:22} {cost['target']:14} {cost['extra_cpu_ms_per_msg']:+.3f} ms"
              f"  ({' + '.join(cost['plugins'])})", file=out)


def against_relay(rows: list) -> list:
    """Per load, mailgate beside the byte relay of the same run: the paired throughput ratios to
    the sink, and mailgate's CPU per message as a share of socat's. The share carries the
    issue's CPU target (0.10 ms against socat's 0.15 ms, on the machine the issue measured) over
    to this machine at this moment, whatever its speed."""
    by_key = {}
    for row in rows:
        by_key.setdefault(row["load"]["key"], {})[row["target"]] = row
    found = []
    for key, paths in by_key.items():
        relay, gate = paths.get("socat"), paths.get("mailgate")
        if not relay or not gate:
            continue
        relay_cpu, gate_cpu = (relay["median"].get("cpu_ms_per_msg"),
                               gate["median"].get("cpu_ms_per_msg"))
        load = Load(gate["load"]["sessions"], gate["load"]["size"], gate["load"]["per_session"])
        found.append({
            "load": load.label, "socat_paired_ratio": relay.get("paired_ratio"),
            "mailgate_paired_ratio": gate.get("paired_ratio"),
            "cpu_share_of_socat": (round(gate_cpu / relay_cpu, 3)
                                   if gate_cpu and relay_cpu else None)})
    return found


def print_against_relay(found: list, out=sys.stdout) -> None:
    if not found:
        return
    print("against the byte relay (socat) in this run: paired ratios to the sink, and mailgate's "
          "CPU per message as a share of socat's (the issue's target: <= 0.67)", file=out)
    for item in found:
        share = item["cpu_share_of_socat"]
        print(f"  {item['load']:22} socat {item['socat_paired_ratio'] or 0:5.2f}  "
              f"mailgate {item['mailgate_paired_ratio'] or 0:5.2f}  "
              f"CPU share {'-' if share is None else f'{share:.2f}'}", file=out)


# --- idle connections ------------------------------------------------------------------------

def run_idle(procs: Processes, workdir: Path, sink: Sink, build: Path, connections: int) -> dict:
    """Opens `connections` sessions to mailgate, each greeted and then left idle; reports
    mailgate's RSS before, with all of them open, and after they close."""
    nofile = connections + 1024
    have = raise_nofile(nofile)
    if have < connections + 64:
        raise BenchError(f"RLIMIT_NOFILE is {have}: cannot open {connections} sockets "
                         f"(run as root, or raise the hard limit)")
    gate = Mailgate(procs, workdir, sink, build, name="mailgate-idle",
                    max_connections=max(20000, connections + 100), nofile=max(nofile, 4096))
    gate.start()
    pid = gate.proc.pid
    runner = Runner(procs, sink, workdir)
    runner.measure(gate, Load(1, 5 * KIB, True), 20, timeout=60)  # warm: one session's path
    time.sleep(0.3)
    before = proc_status(pid)
    reset_peak_rss(pid)
    sel = selectors.DefaultSelector()
    pending = {}  # fd -> (socket, bytes so far)
    greeted = []
    refused = 0
    opened = 0
    t0 = time.monotonic()
    deadline = t0 + max(60.0, connections / 100)
    try:
        while len(greeted) + refused < connections and time.monotonic() < deadline:
            while opened < connections and len(pending) < 1000:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect_ex((HOST, gate.port))
                sel.register(sock, selectors.EVENT_READ)
                pending[sock.fileno()] = (sock, b"")
                opened += 1
            for key, _ in sel.select(timeout=0.5):
                sock = key.fileobj
                fd = sock.fileno()
                try:
                    data = sock.recv(512)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                got = pending[fd][1] + data
                if b"\n" in got or not data:
                    sel.unregister(sock)
                    del pending[fd]
                    if got.startswith(b"220"):
                        greeted.append(sock)
                    else:
                        refused += 1
                        sock.close()
                else:
                    pending[fd] = (sock, got)
        setup_seconds = time.monotonic() - t0
        time.sleep(1.0)
        during = proc_status(pid)
        try:
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            fds = None
        # The gateway must still relay while they are all open.
        still_relays = True
        try:
            runner.measure(gate, Load(1, 5 * KIB, True), 10, timeout=60)
        except BenchError:
            still_relays = False
        alive = gate.alive()
    finally:
        for sock, _ in pending.values():
            sock.close()
        for sock in greeted:
            sock.close()
        sel.close()
    time.sleep(1.0)
    after = proc_status(pid)
    # mailgate checks every 5 s whether a burst is over and then gives freed memory back.
    time.sleep(5.5)
    trimmed = proc_status(pid)
    result = {
        "connections": connections,
        "greeted": len(greeted),
        "refused_or_failed": refused,
        "setup_seconds": round(setup_seconds, 2),
        "mailgate_fds": fds,
        "rss_before_kb": before.get("VmRSS"),
        "rss_with_connections_kb": during.get("VmRSS"),
        "peak_rss_kb": during.get("VmHWM"),
        "rss_after_close_kb": after.get("VmRSS"),
        "rss_after_trim_kb": trimmed.get("VmRSS"),
        "threads": during.get("Threads"),
        "still_relays": still_relays and alive,
    }
    if len(greeted) == connections:
        grown = during.get("VmRSS", 0) - before.get("VmRSS", 0)
        result["rss_per_connection_kb"] = round(grown / connections, 2)
    procs.stop(gate.proc)
    return result


def print_idle(result: dict, out=sys.stdout) -> None:
    mb = lambda kb: f"{kb / 1024:.1f} MB" if kb is not None else "-"  # noqa: E731
    print(f"idle connections: {result['greeted']}/{result['connections']} greeted in "
          f"{result['setup_seconds']} s; mailgate RSS {mb(result['rss_before_kb'])} before, "
          f"{mb(result['rss_with_connections_kb'])} with them open "
          f"({result.get('rss_per_connection_kb', '-')} KB each), peak "
          f"{mb(result['peak_rss_kb'])}, {mb(result['rss_after_close_kb'])} after closing, "
          f"{mb(result.get('rss_after_trim_kb'))} 6.5 s later; "
          f"{result['mailgate_fds']} fds; still relays: {result['still_relays']}", file=out)


# --- one big message -------------------------------------------------------------------------

def run_big(procs: Processes, workdir: Path, sink: Sink, build: Path, size: int) -> dict:
    """Relays one message of `size` bytes through mailgate (spilled to a temporary file beyond
    limits.spill_threshold) and reports its RSS growth; the same message straight to the sink
    gives the reference time."""
    gate = Mailgate(procs, workdir, sink, build, name="mailgate-big", max_message_size="200MiB")
    gate.start()
    pid = gate.proc.pid
    runner = Runner(procs, sink, workdir)
    runner.measure(gate, Load(1, 5 * KIB, True), 20, timeout=60)  # warm
    direct = runner.measure(SinkDirect(procs, workdir, sink).start(), Load(1, size, True), 1,
                            timeout=600)
    time.sleep(0.3)
    before = proc_status(pid)
    reset_peak_rss(pid)
    peaks = {"RssAnon": 0, "RssFile": 0, "VmRSS": 0}
    stop = threading.Event()

    def sample():  # the split of the peak between heap (anon) and mapped file pages
        while not stop.is_set():
            status = proc_status(pid)
            for key in peaks:
                peaks[key] = max(peaks[key], status.get(key, 0))
            stop.wait(0.02)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        relayed = runner.measure(gate, Load(1, size, True), 1, timeout=600)
    finally:
        stop.set()
        sampler.join(timeout=2)
    after = proc_status(pid)
    growth = after.get("VmHWM", 0) - before.get("VmRSS", 0)
    result = {
        "size": size,
        "rss_before_kb": before.get("VmRSS"),
        "peak_rss_kb": after.get("VmHWM"),
        "rss_growth_kb": growth,
        "sampled_peak_anon_kb": peaks["RssAnon"],
        "sampled_peak_file_kb": peaks["RssFile"],
        "rss_before_anon_kb": before.get("RssAnon"),
        "rss_before_file_kb": before.get("RssFile"),
        "rss_after_kb": after.get("VmRSS"),
        "seconds_via_mailgate": relayed["seconds"],
        "seconds_direct": direct["seconds"],
        "mailgate_cpu_ms": round(relayed["cpu_ms_per_msg"], 1),
        "spill_files_left": len(list((gate.dir / "spill").iterdir())),
    }
    procs.stop(gate.proc)
    return result


def print_big(result: dict, out=sys.stdout) -> None:
    mb = lambda kb: f"{(kb or 0) / 1024:.1f}"  # noqa: E731
    print(f"big message: {result['size'] / MIB:.0f} MB relayed in {result['seconds_via_mailgate']}"
          f" s (direct to the sink {result['seconds_direct']} s); mailgate RSS "
          f"{mb(result['rss_before_kb'])} MB before, peak {mb(result['peak_rss_kb'])} MB: growth "
          f"{mb(result['rss_growth_kb'])} MB (sampled: anon {mb(result['rss_before_anon_kb'])} -> "
          f"{mb(result['sampled_peak_anon_kb'])} MB, file-backed "
          f"{mb(result['rss_before_file_kb'])} -> {mb(result['sampled_peak_file_kb'])} MB); "
          f"mailgate CPU {result['mailgate_cpu_ms']} ms", file=out)


# --- profile ---------------------------------------------------------------------------------

PROFILE_LOAD = Load(20, 5 * KIB, True)


def run_profile(procs: Processes, workdir: Path, sink: Sink, build: Path, tool: str,
                seconds: float, outdir: Path, load: Load = PROFILE_LOAD,
                plugins=("relay_access",)) -> dict:
    """Profiles mailgate under 20 sessions x 5 KB (smtp-source -d): `perf record` (CPU-clock
    samples with DWARF call graphs, kernel included) attached for `seconds`, or the whole run
    under valgrind's callgrind (user-space instruction counts). Writes the raw data and the
    reports into outdir and returns the paths and the top of the flat profile."""
    outdir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    runner = Runner(procs, sink, workdir)
    result = {"tool": tool, "load": load.as_dict()}
    if tool == "perf":
        perf = shutil.which("perf")
        if not perf:
            raise BenchError("perf not found (apt-get install linux-perf), or use "
                             "--profile callgrind")
        gate = Mailgate(procs, workdir, sink, build, name="mailgate-profile",
                        plugins=plugins).start()
        count, probe = runner.calibrate(gate, load, seconds + 2)
        data = outdir / f"perf-{stamp}.data"
        perf_proc = procs.start("perf", [perf, "record", "-e", "cpu-clock", "-F", "499",
                                         "--call-graph", "dwarf,16384", "-p", str(gate.proc.pid),
                                         "-o", str(data)],
                                stdout=subprocess.DEVNULL, stderr=open(workdir / "perf.err", "ab"))
        time.sleep(0.5)
        measured = runner.measure(gate, load, count, timeout=120 + 5 * seconds)
        procs.stop(perf_proc, sig=signal.SIGINT, wait=60)
        procs.stop(gate.proc)
        report = outdir / f"perf-{stamp}.txt"
        sections = (
            ("flat (self)", ["--no-children", "--sort", "dso,symbol", "-g", "none"]),
            ("by shared object", ["--no-children", "--sort", "dso", "-g", "none"]),
            ("inclusive (children)", ["--children", "--sort", "symbol", "-g", "none"]),
            ("callers of the top entries", ["--no-children", "--sort", "symbol", "-g",
                                            "caller,0.5,callee,function,percent"]))
        with open(report, "w") as out:
            for title, extra in sections:
                text = subprocess.run([perf, "report", "-i", str(data), "--stdio",
                                       "--percent-limit", "0.3", *extra], capture_output=True,
                                      text=True, errors="replace", stdin=subprocess.DEVNULL,
                                      timeout=600).stdout
                out.write(f"===== {title}\n")
                for line in text.splitlines():  # perf pads every line to its widest symbol
                    out.write(re.sub(r"(\s+-\s+-)?\s*$", "", line) + "\n")
        result.update({"data": str(data), "report": str(report), "measured": measured,
                       "top": perf_top(report)})
    elif tool == "callgrind":
        valgrind = shutil.which("valgrind")
        if not valgrind:
            raise BenchError("valgrind not found (apt-get install valgrind)")
        data = outdir / f"callgrind-{stamp}.out"
        gate = Mailgate(procs, workdir, sink, build, name="mailgate-callgrind", plugins=plugins,
                        wrapper=[valgrind, "--tool=callgrind", f"--callgrind-out-file={data}",
                                 "--dump-instr=no"]).start()
        runner.measure(gate, load, 200, timeout=300)  # warm
        count = 4000
        measured = runner.measure(gate, load, count, timeout=900)
        procs.stop(gate.proc, wait=60)  # SIGTERM: callgrind writes its file on exit
        report = outdir / f"callgrind-{stamp}.txt"
        with open(report, "w") as out:
            subprocess.run(["callgrind_annotate", "--inclusive=no", str(data)], stdout=out,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=600)
            out.write("\n===== inclusive\n")
            out.flush()
            subprocess.run(["callgrind_annotate", "--inclusive=yes", str(data)], stdout=out,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=600)
        result.update({"data": str(data), "report": str(report), "messages": count,
                       "measured": measured})
    elif tool == "strace":
        strace = shutil.which("strace")
        if not strace:
            raise BenchError("strace not found (apt-get install strace)")
        gate = Mailgate(procs, workdir, sink, build, name="mailgate-strace",
                        plugins=plugins).start()
        runner.measure(gate, load, 2000, timeout=120)  # warm
        data = outdir / f"strace-{stamp}.txt"
        tracer = procs.start("strace", [strace, "-c", "-f", "-o", str(data), "-p",
                                        str(gate.proc.pid)],
                             stdout=subprocess.DEVNULL, stderr=open(workdir / "strace.err", "ab"))
        time.sleep(1.0)  # attached to every thread
        count = 4000
        measured = runner.measure(gate, load, count, timeout=300)
        procs.stop(tracer, sig=signal.SIGINT, wait=30)
        procs.stop(gate.proc)
        calls = {}
        for line in data.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[0].replace(".", "").isdigit() and parts[-1] != "total":
                errors = int(parts[4]) if len(parts) == 6 else 0
                calls[parts[-1]] = {"per_message": round(int(parts[3]) / count, 2),
                                    "errors_per_message": round(errors / count, 2)}
        result.update({"data": str(data), "report": str(data), "messages": count,
                       "measured": measured, "syscalls": calls,
                       "top": [[v["per_message"], "per msg", k] for k, v in
                               sorted(calls.items(), key=lambda kv: -kv[1]["per_message"])]})
    else:
        raise BenchError(f"unknown profiler {tool!r} (perf, callgrind or strace)")
    return result


def perf_top(report: Path, limit: int = 25) -> list:
    """The first entries of the flat section of a perf report: [percent, dso, symbol]."""
    top = []
    for line in report.read_text(errors="replace").splitlines():
        if line.startswith("===== ") and top:
            break
        match = re.match(r"\s+([0-9.]+)%\s+(\S+)\s+\[.\]\s+(.*)$", line)
        if match:
            top.append([float(match.group(1)), match.group(2), match.group(3).strip()])
        if len(top) >= limit:
            break
    return top


# --- facts about the run ---------------------------------------------------------------------

def command_output(argv, timeout=10) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_facts(build: Path) -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    binary = build / "bin" / "mailgate"
    haraka_version = ""
    try:
        haraka_version = json.loads((HARAKA_DIR / "node_modules" / "Haraka" / "package.json")
                                    .read_text())["version"]
    except (OSError, ValueError, KeyError):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "mem_total_kb": proc_meminfo().get("MemTotal"),
        "python": platform.python_version(),
        "postfix": command_output([find_sbin("postconf"), "-d", "-h", "mail_version"]),
        "node": command_output(["node", "--version"]) if shutil.which("node") else "",
        "haraka": haraka_version,
        "mailgate": command_output([str(binary), "--version"]) if binary.exists() else "",
        "mailgate_binary_sha256": (hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
                                   if binary.exists() else ""),
        "mailgate_binary_mtime": (datetime.datetime.fromtimestamp(binary.stat().st_mtime)
                                  .isoformat(timespec="seconds") if binary.exists() else ""),
        "git_head": command_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(command_output(["git", "-C", str(ROOT), "status", "--porcelain",
                                          "--untracked-files=no"])),
        "build_type": cmake_build_type(build),
    }


def proc_meminfo() -> dict:
    out = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, value = line.partition(":")
            out[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def cmake_build_type(build: Path) -> str:
    try:
        for line in (build / "CMakeCache.txt").read_text().splitlines():
            if line.startswith("CMAKE_BUILD_TYPE:"):
                return line.split("=", 1)[1]
    except OSError:
        pass
    return ""


# --- main ------------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true",
                      help="a few seconds: sink + mailgate, tiny counts, exit 1 on any failure")
    mode.add_argument("--idle", action="store_true", help="only the idle-connections mode")
    mode.add_argument("--big", action="store_true", help="only the big-message mode")
    mode.add_argument("--all", action="store_true", help="matrix, then idle, then big")
    mode.add_argument("--profile", nargs="?", const="perf",
                      choices=("perf", "callgrind", "strace"),
                      help="profile mailgate at 20 sessions x 5 KB -d: perf (default), "
                           "callgrind (instructions) or strace (system calls per message)")
    parser.add_argument("--profile-path", default="mailgate",
                        help="the path --profile runs: mailgate (relay_access only; default), "
                             "mailgate-full or one of the mg-* paths")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell (median; 3)")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="target length of one measurement in the matrix (2.0)")
    parser.add_argument("--targets", default="sink,socat,mailgate,mailgate-full,haraka,postfix",
                        help="comma-separated paths for the matrix")
    parser.add_argument("--loads", default="",
                        help="only these loads, e.g. 20x5KB-d,1x100KB (default: all 12)")
    parser.add_argument("--connections", type=int, default=10000, help="idle mode (10000)")
    parser.add_argument("--big-size", type=int, default=100, help="big mode, in MiB (100)")
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD)
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default bench/results/MODE-TIME.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another mailgate binary to measure beside this build's, as the "
                             "path mg-baseline (an A/B of two versions)")
    args = parser.parse_args(argv)
    args.build_dir = args.build_dir.resolve()  # the programs run in a temporary folder
    if args.baseline:
        args.baseline = args.baseline.resolve()
    if not 1 <= args.repeats <= 20 or not 0.2 <= args.seconds <= 60:
        parser.error("--repeats must be 1..20 and --seconds 0.2..60")
    if not 1 <= args.connections <= 100000 or not 1 <= args.big_size <= 1024:
        parser.error("--connections must be 1..100000 and --big-size 1..1024")
    return args


def pick_loads(spec: str) -> list:
    if not spec:
        return FULL_LOADS
    wanted = {s.strip().replace(" ", "") for s in spec.split(",") if s.strip()}
    loads = [load for load in FULL_LOADS if load.key.replace(" ", "") in wanted]
    if len(loads) != len(wanted):
        raise BenchError(f"unknown load in {spec!r}; known: "
                         + ", ".join(load.key.replace(" ", "") for load in FULL_LOADS))
    return loads


# mailgate with more than relay_access: the shipped default chain, and each plugin alone after
# relay_access (its cost per message is the CPU time above the `mailgate` path's).
PLUGIN_TARGETS = {
    "mailgate-full": ("relay_access", "spam_score", "rewrite"),
    "mg-spam_score": ("relay_access", "spam_score"),
    "mg-rewrite": ("relay_access", "rewrite:rules"),
    "mg-dnsbl": ("relay_access", "dnsbl"),
}


def build_targets(names, procs, workdir, sink, build, notes, baseline=None) -> list:
    targets = []
    for name in names:
        if name == "sink":
            targets.append(SinkDirect(procs, workdir, sink))
        elif name == "mailgate":
            targets.append(Mailgate(procs, workdir, sink, build))
        elif name == "mg-baseline":
            if baseline is None:
                raise BenchError("mg-baseline needs --baseline BINARY")
            # Another mailgate binary with the same config: an A/B of two versions in one run,
            # interleaved, so the machine's drift hits both alike. Its own plugins when it was
            # built with them (BUILD/bin/mailgate beside BUILD/plugins): an older binary may
            # refuse plugins built for a newer plugin ABI.
            own_build = baseline.parent.parent
            plugins_of = own_build if (own_build / "plugins").is_dir() else build
            targets.append(Mailgate(procs, workdir, sink, plugins_of, name=name, binary=baseline))
        elif name in PLUGIN_TARGETS:
            chain = PLUGIN_TARGETS[name]
            if "dnsbl" in chain and not DNSBL_RESOLVER["address"]:
                DNSBL_RESOLVER["address"] = start_dnsmasq(procs, workdir)
            missing = [p for p in chain
                       if not (build / "plugins" / f"{p.split(':')[0]}.so").exists()]
            if missing:
                notes.append(f"{name} skipped: {', '.join(missing)} not built")
                continue
            targets.append(Mailgate(procs, workdir, sink, build, name=name, plugins=chain))
        elif name == "socat":
            targets.append(Socat(procs, workdir, sink))
        elif name == "haraka":
            if not Haraka.available():
                raise BenchError("Haraka is not installed: npm ci --prefix bench/haraka "
                                 "(or leave it out: --targets sink,mailgate,postfix)")
            targets.append(Haraka(procs, workdir, sink))
        elif name == "postfix":
            if not Postfix.available():
                raise BenchError("the Postfix relay needs root and the postfix package "
                                 "(or leave it out with --targets)")
            targets.append(Postfix(procs, workdir, sink))
        else:
            raise BenchError(f"unknown target {name!r}")
    return targets


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    mode = ("smoke" if args.smoke else "idle" if args.idle else "big" if args.big
            else "all" if args.all else "profile" if args.profile else "matrix")
    procs = Processes()

    def on_signal(signum, frame):
        raise Interrupted(signal.Signals(signum).name)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    workdir = Path(tempfile.mkdtemp(prefix="mailgate-bench-")).resolve()
    workdir.chmod(0o755)  # Postfix's users must traverse it
    report = {"mode": mode, "command": " ".join([sys.argv[0], *sys.argv[1:]]),
              "started": datetime.datetime.now(datetime.timezone.utc)
              .isoformat(timespec="seconds"), "notes": [], "failures": []}
    code = 0
    began = time.monotonic()
    try:
        report["machine"] = machine_facts(args.build_dir)
        sink = Sink(procs, workdir).start()
        runner = Runner(procs, sink, workdir)
        if mode == "smoke":
            targets = [SinkDirect(procs, workdir, sink).start(),
                       Mailgate(procs, workdir, sink, args.build_dir).start()]
            loads = [load for load, _ in SMOKE_LOADS]
            rows, failures = run_matrix(runner, targets, loads, 1, 0,
                                        fixed_counts=[n for _, n in SMOKE_LOADS])
            report["matrix"] = rows
            report["failures"] += failures
            report["idle"] = run_idle(procs, workdir, sink, args.build_dir, 200)
            report["big"] = run_big(procs, workdir, sink, args.build_dir, 4 * MIB)
            idle, big = report["idle"], report["big"]
            if idle["greeted"] != idle["connections"] or not idle["still_relays"]:
                report["failures"].append(f"idle mode: {idle}")
            if big["spill_files_left"] != 0:
                report["failures"].append(f"big mode left spill files: {big}")
        if mode in ("matrix", "all"):
            names = [n.strip() for n in args.targets.split(",") if n.strip()]
            if "sink" not in names:
                names.insert(0, "sink")  # every ratio is to the sink
            if args.baseline and "mg-baseline" not in names:
                names.append("mg-baseline")
            targets = build_targets(names, procs, workdir, sink, args.build_dir,
                                    report["notes"], args.baseline)
            for target in targets:
                log(f"starting {target.name} ...")
                target.start()
            report["config"] = {"repeats": args.repeats, "seconds": args.seconds,
                                "targets": [t.name for t in targets],
                                "baseline": str(args.baseline) if args.baseline else None}
            rows, failures = run_matrix(runner, targets, pick_loads(args.loads), args.repeats,
                                        args.seconds)
            report["matrix"] = rows
            report["failures"] += failures
            for target in reversed(targets):
                if isinstance(target, Postfix):
                    target.stop()
                elif getattr(target, "proc", None) is not None:
                    procs.stop(target.proc)
        if mode in ("idle", "all"):
            log(f"idle mode: {args.connections} connections ...")
            report["idle"] = run_idle(procs, workdir, sink, args.build_dir, args.connections)
        if mode == "profile":
            if args.profile_path != "mailgate" and args.profile_path not in PLUGIN_TARGETS:
                raise BenchError(f"unknown --profile-path {args.profile_path!r}")
            chain = PLUGIN_TARGETS.get(args.profile_path, ("relay_access",))
            if "dnsbl" in chain:
                DNSBL_RESOLVER["address"] = start_dnsmasq(procs, workdir)
            log(f"profiling {args.profile_path} with {args.profile} ...")
            report["profile"] = run_profile(
                procs, workdir, sink, args.build_dir, args.profile, max(args.seconds, 8.0),
                BENCH / "results", pick_loads(args.loads)[0] if args.loads else PROFILE_LOAD,
                chain)
        if mode in ("big", "all"):
            log(f"big mode: one {args.big_size} MiB message ...")
            report["big"] = run_big(procs, workdir, sink, args.build_dir, args.big_size * MIB)
    except BenchError as error:
        report["failures"].append(str(error))
        log(f"error: {error}")
        code = 1
    except Interrupted as signame:
        report["failures"].append(f"interrupted by {signame}")
        log(f"interrupted by {signame}: cleaning up")
        code = 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let cleanup finish
        procs.cleanup()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
    report["seconds"] = round(time.monotonic() - began, 1)
    report["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    if report["failures"] and code == 0:
        code = 1

    if report.get("matrix"):
        print_table(report["matrix"])
        report["plugin_costs"] = plugin_costs(report["matrix"])
        print_plugin_costs(report["plugin_costs"])
        report["against_relay"] = against_relay(report["matrix"])
        print_against_relay(report["against_relay"])
        others = [r["median"].get("other_cpu_cores") for r in report["matrix"]
                  if r["median"].get("other_cpu_cores") is not None]
        if others:
            print(f"other CPU load during the runs (cores, not ours): median "
                  f"{statistics.median(others):.2f}, max {max(others):.2f}")
    if report.get("idle"):
        print_idle(report["idle"])
    if report.get("big"):
        print_big(report["big"])
    if report.get("profile"):
        prof = report["profile"]
        print(f"profile ({prof['tool']}): report {prof['report']}, data {prof['data']}")
        for percent, dso, symbol in prof.get("top", []):
            unit = "" if dso == "per msg" else "%"
            print(f"  {percent:6.2f}{unit:1} {dso:24.24} {symbol[:110]}")
    for note in report["notes"]:
        print(f"note: {note}")
    for failure in report["failures"]:
        print(f"FAILED: {failure.splitlines()[0] if failure else failure}")
    path = args.json or BENCH / "results" / (
        f"{mode}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}.json")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1) + "\n")
        print(f"results: {path} ({report['seconds']} s)")
    except OSError as error:
        log(f"cannot write {path}: {error}")
        code = code or 1
    return code


if __name__ == "__main__":
    sys.exit(main())
