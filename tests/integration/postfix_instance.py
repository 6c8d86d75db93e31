"""A private Postfix instance for tests: its own config, queue and Maildirs in a scratch directory.

It listens on 127.0.0.1 on a free port only, never looks anything up in DNS, delivers the virtual
domain example.test into Maildirs (ideal@ and other@; unknown users get 550 5.1.1 at RCPT) and
sends nothing anywhere else. The system instance (/etc/postfix) is neither used nor touched.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from daemon_process import greets_with_220, run_instance, wait_for_maildir_message, wait_until_ready
from mailgate_process import free_port

DOMAIN = "example.test"
USERS = ("ideal", "other")
HOSTNAME = "postfix.test.example"
COMMAND_TIMEOUT = 30.0  # one `postfix start` or `postfix stop`
READY_TIMEOUT = 15.0  # until the SMTP greeting is seen
STOP_WAIT = 3.0  # more, after `postfix stop` (which itself waits up to 5 s for the master)
START_ATTEMPTS = 3  # a free port can be taken between choosing and binding it
SBIN_PATHS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def postfix_binary():
    """The `postfix` command, or None when Postfix is not installed."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN_PATHS])
    found = shutil.which("postfix", path=path)
    return Path(found) if found else None


def running_postfix(extra_main_cf: str = ""):
    """A module fixture's body: a private Postfix (skipped when Postfix is not installed),
    stopped and removed at teardown, also when a test or the start itself failed."""
    binary = postfix_binary()
    if binary is None:
        pytest.skip("postfix is not installed (scripts/install-deps.sh installs it; "
                    "in CI these tests run)")
    yield from run_instance(PostfixInstance.create(binary, extra_main_cf=extra_main_cf))


def _delivery_owner() -> tuple[int, int]:
    """The uid/gid the virtual agent delivers as: nobody (never root, never mail_owner)."""
    try:
        user = pwd.getpwnam("nobody")
        return user.pw_uid, user.pw_gid
    except KeyError:
        return 65534, 65534


MAIN_CF = """\
# A private Postfix for mailgate's integration tests (generated; see postfix_instance.py).
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydomain = test.example
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
relayhost =
relay_domains =
alias_maps =
alias_database =

# Never look anything up, never send anything anywhere.
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtpd_peername_lookup = no
local_transport = error:5.1.1 local delivery is disabled in this test instance
default_transport = error:5.7.1 outbound mail is disabled in this test instance
relay_transport = error:5.7.1 relaying is disabled in this test instance
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =

# Keep client headers as they are (no rewriting, no added headers for 127.0.0.1).
local_header_rewrite_clients =
biff = no
append_dot_mydomain = no

# Answer at once: no sleeping after errors, no flow-control delays.
smtpd_error_sleep_time = 0s
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
in_flow_delay = 0s
smtpd_banner = $myhostname ESMTP Postfix (mailgate tests)

# The virtual domain: a trailing slash means Maildir.
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = inline:{{ {mailboxes} }}
virtual_alias_maps =
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = {uid}

maillog_file = {root}/maillog
maillog_file_prefixes = {root}
"""

# No chroot anywhere; no smtp/lmtp/local/pickup services: nothing leaves, nothing is picked up.
MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:{port} inet n - n - - smtpd
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
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixInstance:
    """One private Postfix: `postfix -c ROOT/etc start|stop`, everything else under ROOT."""

    def __init__(self, binary: Path, root: Path, extra_main_cf: str = ""):
        self.binary = binary
        self.root = root
        self.extra_main_cf = extra_main_cf  # more main.cf lines, after the generated ones
        self.config_dir = root / "etc"
        self.queue_dir = root / "queue"
        self.mail_dir = root / "mail"
        self.maillog = root / "maillog"
        self.command_log = root / "postfix-commands.log"
        self.port = 0
        self.master_pid = None

    @classmethod
    def create(cls, binary: Path, extra_main_cf: str = "") -> "PostfixInstance":
        """In a fresh directory under the system temp dir, which Postfix's users can traverse
        (pytest's own tmp dirs are 0700, closed to the postfix and nobody users)."""
        root = Path(tempfile.mkdtemp(prefix="mailgate-postfix-")).resolve()
        root.chmod(0o755)
        return cls(binary, root, extra_main_cf)

    # --- files -----------------------------------------------------------------------------

    def _write_config(self) -> None:
        uid, gid = _delivery_owner()
        self.config_dir.mkdir(exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)
        self.mail_dir.mkdir(exist_ok=True)
        os.chown(self.mail_dir, uid, gid)
        mailboxes = ", ".join(f"{user}@{DOMAIN}={user}/" for user in USERS)
        (self.config_dir / "main.cf").write_text(MAIN_CF.format(
            root=self.root, hostname=HOSTNAME, domain=DOMAIN, mailboxes=mailboxes,
            uid=uid, gid=gid) + self.extra_main_cf)
        (self.config_dir / "master.cf").write_text(MASTER_CF.format(port=self.port))

    def log_text(self) -> str:
        """The instance's maillog and the output of its start/stop commands."""
        parts = []
        for path in (self.command_log, self.maillog):
            try:
                parts.append(f"--- {path.name}\n" + path.read_text(errors="replace"))
            except FileNotFoundError:
                parts.append(f"--- {path.name}: (none)")
        return "\n".join(parts)

    def maillog_text(self) -> str:
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # --- start -----------------------------------------------------------------------------

    def _postfix(self, action: str) -> int:
        """Runs `postfix -c ETC action` (bounded); output appended to the command log."""
        with open(self.command_log, "ab") as log:
            log.write(f"$ postfix -c {self.config_dir} {action}\n".encode())
            log.flush()
            try:
                # Output to a file, not a pipe: the master daemon must not inherit a pipe that
                # we would wait on until it exits.
                return subprocess.run(
                    [str(self.binary), "-c", str(self.config_dir), action],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    timeout=COMMAND_TIMEOUT, start_new_session=True).returncode
            except subprocess.TimeoutExpired:
                log.write(f"(timed out after {COMMAND_TIMEOUT:.0f} s)\n".encode())
                return -1

    def start(self) -> "PostfixInstance":
        """Starts on a free port; returns once the SMTP greeting is seen. Raises RuntimeError."""
        for _ in range(START_ATTEMPTS):
            self.port = free_port()
            self._write_config()
            code = self._postfix("start")
            self.master_pid = self._read_master_pid()
            if code == 0 and self._wait_ready():
                return self
            self.stop()
            if "address already in use" not in self.log_text().lower():
                break
        raise RuntimeError(f"private postfix did not start on 127.0.0.1:{self.port}\n"
                           f"{self.log_text()[-6000:]}")

    def _wait_ready(self) -> bool:
        return wait_until_ready(
            lambda: greets_with_220(self.port),
            lambda: self.master_pid is not None and self._alive(self.master_pid), READY_TIMEOUT)

    # --- stop ------------------------------------------------------------------------------

    def _read_master_pid(self):
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return self.master_pid

    def _alive(self, pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        return state != "Z"

    def _processes(self) -> dict[int, int]:
        """pid -> process group of every live process working in this instance's queue
        directory (the master chdirs there before it forks, so all its daemons do too)."""
        queue = str(self.queue_dir)
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cwd = os.readlink(entry / "cwd")
            except (OSError, IndexError):
                continue
            if fields[0] != "Z" and cwd == queue:
                found[int(entry.name)] = int(fields[2])
        return found

    def _wait_gone(self, timeout: float) -> dict[int, int]:
        deadline = time.monotonic() + timeout
        left = self._processes()
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = self._processes()
        return left

    def stop(self) -> list[int]:
        """`postfix stop`; then, as postfix-script does by force, SIGKILL to the process group of
        the master named in the pid file (only once its pid is confirmed to be this instance's),
        then to any stray process left in the queue directory. Every wait is bounded.
        Returns the pids that had to be killed."""
        master = self._read_master_pid()
        left = self._processes()
        if not left:
            return []
        if master in left:
            self._postfix("stop")
            left = self._wait_gone(STOP_WAIT)
        killed = sorted(left)
        if master in left and left[master] == master:
            try:
                os.killpg(master, signal.SIGKILL)
            except ProcessLookupError:
                pass
            left = self._wait_gone(3.0)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        left = self._wait_gone(3.0)
        if left:
            raise RuntimeError(f"postfix processes {sorted(left)} survived SIGKILL")
        return killed

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # --- delivered mail --------------------------------------------------------------------

    def maildir_files(self, user: str) -> list[Path]:
        """The files in USER's Maildir new/ (oldest first by name)."""
        new = self.mail_dir / user / "new"
        try:
            return sorted(new.iterdir())
        except FileNotFoundError:
            return []

    def wait_for_message(self, user: str, marker: bytes, timeout: float = 20.0) -> bytes:
        """The one delivered message of USER that contains marker (polled, bounded)."""
        return wait_for_maildir_message(lambda: self.maildir_files(user), marker,
                                        f"{user}@{DOMAIN}", self.log_text, timeout)
