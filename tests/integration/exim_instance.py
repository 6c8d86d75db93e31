"""A private Exim for tests: the Debian exim4 binary unpacked by scripts/install-deps.sh (Exim
and Postfix cannot both be installed: both are the mail-transport-agent), run in the foreground
with its own config, spool, log and Maildirs in a scratch directory.

It listens on 127.0.0.1 on a free port only, never looks anything up in DNS, delivers the domain
example.test into Maildirs (ideal@ and other@; unknown users get 550 at RCPT) and sends nothing
anywhere else. The exim user is Debian-exim (compiled into the binary; install-deps.sh creates
it). Exim drops root when it re-executes itself with -C, so deliveries run as Debian-exim.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from daemon_process import (greets_with_220, start_on_free_port, stop_process_group,
                            wait_for_maildir_message, wait_until_ready)

DOMAIN = "example.test"
USERS = ("ideal", "other")
HOSTNAME = "exim.test.example"
EXIM_USER = "Debian-exim"
DEFAULT_ROOT = Path("/opt/mailgate-test-tools/exim4")  # where install-deps.sh unpacks it
READY_TIMEOUT = 15.0

CONFIG = """\
# A private Exim for mailgate's integration tests (generated; see exim_instance.py).
primary_hostname = {hostname}
exim_path = {binary}
exim_user = {user}
exim_group = {user}
spool_directory = {root}/spool
log_file_path = {root}/log/%slog
keep_environment =
local_interfaces = 127.0.0.1
daemon_smtp_ports = {port}
smtp_banner = $smtp_active_hostname ESMTP Exim (mailgate tests)
domainlist local_domains = {domain}
# Never look anything up, never send anything anywhere.
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
queue_run_max = 0
message_size_limit = 50M
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  deny    domains = +local_domains
          !verify = recipient
  accept  domains = +local_domains
  deny    message = relay not permitted

begin routers
mailboxes:
  driver = accept
  domains = +local_domains
  local_parts = {users}
  transport = maildir_delivery

begin transports
maildir_delivery:
  driver = appendfile
  directory = {root}/mail/$local_part_data
  maildir_format
  delivery_date_add
  envelope_to_add
  return_path_add
  user = {user}
  group = {user}
  mode = 0600
"""


def exim_binary():
    """The unpacked exim4, or None (with why) when it cannot run here."""
    root = Path(os.environ.get("MAILGATE_EXIM_ROOT") or DEFAULT_ROOT)
    binary = root / "usr" / "sbin" / "exim4"
    if not binary.is_file():
        return None, f"{binary} not found (scripts/install-deps.sh unpacks it; in CI it runs)"
    try:
        pwd.getpwnam(EXIM_USER)
    except KeyError:
        return None, f"user {EXIM_USER} does not exist (scripts/install-deps.sh creates it)"
    if os.geteuid() != 0:
        return None, "the private Exim needs root to start"
    return binary, ""


class EximInstance:
    """One `exim4 -C CONF -bdf -oX PORT`, everything under ROOT."""

    def __init__(self, binary: Path, root: Path):
        self.binary = binary
        self.root = root
        self.config = root / "exim.conf"
        self.mail_dir = root / "mail"
        self.output = root / "exim.out"
        self.port = 0
        self.proc = None

    @classmethod
    def create(cls, binary: Path) -> "EximInstance":
        root = Path(tempfile.mkdtemp(prefix="mailgate-exim-")).resolve()
        root.chmod(0o755)
        user = pwd.getpwnam(EXIM_USER)
        for name in ("spool", "log", "mail"):
            (root / name).mkdir()
            os.chown(root / name, user.pw_uid, user.pw_gid)
        return cls(binary, root)

    def log_text(self) -> str:
        parts = []
        for path in (self.output, self.root / "log" / "mainlog", self.root / "log" / "paniclog"):
            try:
                parts.append(f"--- {path.name}\n" + path.read_text(errors="replace"))
            except FileNotFoundError:
                pass
        return "\n".join(parts)

    def mainlog(self) -> str:
        try:
            return (self.root / "log" / "mainlog").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> "EximInstance":
        start_on_free_port("exim", self._launch, self._wait_ready, self.stop, self.log_text)
        return self

    def _launch(self, port: int) -> None:
        self.port = port
        self.config.write_text(CONFIG.format(
            hostname=HOSTNAME, binary=self.binary, user=EXIM_USER, root=self.root,
            port=port, domain=DOMAIN, users=" : ".join(USERS)))
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(
                [str(self.binary), "-C", str(self.config), "-bdf", "-oX", str(port)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def _wait_ready(self) -> bool:
        return wait_until_ready(lambda: greets_with_220(self.port),
                                lambda: self.proc.poll() is None, READY_TIMEOUT)

    def stop(self) -> None:
        stop_process_group(self.proc, 5)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def maildir_files(self, user: str) -> list[Path]:
        try:
            return sorted((self.mail_dir / user / "new").iterdir())
        except FileNotFoundError:
            return []

    def wait_for_message(self, user: str, marker: bytes, timeout: float = 20.0) -> bytes:
        return wait_for_maildir_message(lambda: self.maildir_files(user), marker,
                                        f"{user}@{DOMAIN}", self.log_text, timeout)
