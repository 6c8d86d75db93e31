"""A private SpamAssassin spamd for tests: the Debian package's /usr/sbin/spamd, run in the
foreground on 127.0.0.1 on a free port, with its own site config in a scratch directory.

Local rules only: -L turns off network tests (DNS blocklists, Razor, Pyzor), Bayes and
auto-learning are off, no user preferences (-x). The site config is the package's plugin
loaders (*.pre from /etc/spamassassin) and a local.cf of our own; the rules are the ones the
package ships in /usr/share/spamassassin. As root it runs its children as `nobody` (-u).
"""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from daemon_process import start_on_free_port, stop_process_group, wait_until_ready

SPAMD = Path("/usr/sbin/spamd")
PACKAGE_SITE_CONFIG = Path("/etc/spamassassin")
READY_TIMEOUT = 30.0
LOCAL_CF = """\
# A private spamd for mailgate's integration tests (generated; see spamd_instance.py).
use_bayes 0
bayes_auto_learn 0
skip_rbl_checks 1
dns_available no
"""
PROBE = b"Subject: probe\r\n\r\nready?\r\n"


def spamd_binary():
    """The spamd binary, or None (with why) when it is not installed."""
    if not SPAMD.is_file():
        return None, f"{SPAMD} not found (scripts/install-deps.sh installs spamd)"
    return SPAMD, ""


class SpamdInstance:
    """One `spamd --listen=127.0.0.1:PORT ...`, config and log under ROOT."""

    def __init__(self, root: Path):
        self.root = root
        self.site = root / "site"
        self.log_path = root / "spamd.log"
        self.port = 0
        self.proc = None

    @classmethod
    def create(cls) -> "SpamdInstance":
        root = Path(tempfile.mkdtemp(prefix="mailgate-spamd-")).resolve()
        root.chmod(0o755)  # the children run as nobody
        site = root / "site"
        site.mkdir()
        for pre in sorted(PACKAGE_SITE_CONFIG.glob("*.pre")):
            shutil.copy(pre, site / pre.name)
        (site / "local.cf").write_text(LOCAL_CF)
        for path in site.iterdir():
            path.chmod(0o644)
        site.chmod(0o755)
        return cls(root)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> "SpamdInstance":
        start_on_free_port("spamd", self._launch, self._wait_ready, self.stop, self.log_text)
        return self

    def _launch(self, port: int) -> None:
        self.port = port
        command = [str(SPAMD), f"--listen=127.0.0.1:{port}", "--allowed-ips=127.0.0.1",
                   "--local", "--nouser-config", f"--siteconfigpath={self.site}",
                   f"--helper-home-dir={self.root}", "--syslog=stderr",
                   f"--pidfile={self.root / 'spamd.pid'}", "--min-children=1",
                   "--max-children=2"]
        if os.geteuid() == 0:
            command += ["--username=nobody"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, cwd=self.root, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)

    def _wait_ready(self) -> bool:
        """True once spamd answers a real SYMBOLS request (its rules are loaded)."""
        return wait_until_ready(self._answers_symbols, lambda: self.proc.poll() is None,
                                READY_TIMEOUT, interval=0.2)

    def _answers_symbols(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(PROBE) + PROBE)
            return sock.recv(100).startswith(b"SPAMD/1.1 0 EX_OK")

    def stop(self) -> None:
        stop_process_group(self.proc, 10)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
