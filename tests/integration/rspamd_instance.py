"""A private Rspamd for tests: the Debian package's /usr/bin/rspamd in the foreground (-f) with
a config file of our own (-c) and one normal worker on 127.0.0.1 on a free port.

It uses the package's rules and modules ($CONFDIR is /etc/rspamd) but its own LOCAL_CONFDIR,
DBDIR, RUNDIR and log in a scratch directory. Modules that need the network (DNS blocklists,
SPF, DKIM, DMARC, fuzzy hashes, ...) are turned off, DNS goes to a closed loopback port so
nothing waits on it, Hyperscan is off and the public-suffix list is a five-line file (compiling
the real ones takes Rspamd 10 s or more here). No Redis: the modules that need it turn
themselves off. As root the workers run as the package's _rspamd user (-u, -g).
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from daemon_process import start_on_free_port, stop_process_group, wait_until_ready

RSPAMD = Path("/usr/bin/rspamd")
RSPAMD_USER = "_rspamd"
READY_TIMEOUT = 60.0
NETWORK_MODULES = ("rbl", "fuzzy_check", "phishing", "asn", "spf", "dkim", "dmarc", "arc",
                   "dkim_signing", "emails", "surbl", "mx_check", "whitelist", "reputation",
                   "rspamd_update", "dcc", "bimi")

CONFIG = """\
# A private Rspamd for mailgate's integration tests (generated; see rspamd_instance.py).
.include "$CONFDIR/common.conf"
options {{
    pidfile = "{root}/run/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(priority=10) "$LOCAL_CONFDIR/override.d/options.inc"
}}
logging {{
    type = "file";
    filename = "{root}/rspamd.log";
    level = "info";
}}
worker "normal" {{
    bind_socket = "127.0.0.1:{port}";
    count = 1;
    .include "$CONFDIR/worker-normal.inc"
}}
"""
OPTIONS = """\
url_tld = "{root}/tld.dat";
disable_hyperscan = true;
dns {{ nameserver = ["127.0.0.1:9"]; timeout = 0.2s; retransmits = 1; }}
"""


def rspamd_binary():
    """The rspamd binary, or None (with why) when it is not installed."""
    if not RSPAMD.is_file():
        return None, f"{RSPAMD} not found (scripts/install-deps.sh installs rspamd)"
    return RSPAMD, ""


class RspamdInstance:
    """One `rspamd -f -c ROOT/rspamd.conf`, everything under ROOT."""

    def __init__(self, root: Path):
        self.root = root
        self.log_path = root / "rspamd.log"
        self.output = root / "rspamd.out"
        self.port = 0
        self.proc = None

    @classmethod
    def create(cls) -> "RspamdInstance":
        root = Path(tempfile.mkdtemp(prefix="mailgate-rspamd-")).resolve()
        root.chmod(0o755)
        for folder in ("local/local.d", "local/override.d", "db", "run"):
            (root / folder).mkdir(parents=True)
        for module in NETWORK_MODULES:
            (root / "local" / "local.d" / f"{module}.conf").write_text("enabled = false;\n")
        (root / "local" / "override.d" / "options.inc").write_text(OPTIONS.format(root=root))
        (root / "tld.dat").write_text("com\norg\nnet\nexample\ntest\n")
        return cls(root)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_text(self) -> str:
        parts = []
        for path in (self.output, self.log_path):
            try:
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
            except FileNotFoundError:
                pass
        return "\n".join(parts)

    def start(self) -> "RspamdInstance":
        start_on_free_port("rspamd", self._launch, self._wait_ready, self.stop, self.log_text)
        return self

    def _launch(self, port: int) -> None:
        self.port = port
        config = self.root / "rspamd.conf"
        config.write_text(CONFIG.format(root=self.root, port=port))
        command = [str(RSPAMD), "-f", "-c", str(config),
                   f"--var=LOCAL_CONFDIR={self.root / 'local'}",
                   f"--var=DBDIR={self.root / 'db'}", f"--var=RUNDIR={self.root / 'run'}",
                   f"--var=LOGDIR={self.root}"]
        if os.geteuid() == 0:
            user = pwd.getpwnam(RSPAMD_USER)
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
            command += ["-u", RSPAMD_USER, "-g", RSPAMD_USER]
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(command, cwd=self.root, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=out, start_new_session=True)

    def _wait_ready(self) -> bool:
        """True once the normal worker answers /ping."""
        return wait_until_ready(self._answers_ping, lambda: self.proc.poll() is None,
                                READY_TIMEOUT, interval=0.2)

    def _answers_ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
            return reply.startswith(b"HTTP/1.1 200") and reply.rstrip().endswith(b"pong")

    def stop(self) -> None:
        stop_process_group(self.proc, 10)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
