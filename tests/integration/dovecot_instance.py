"""A private Dovecot LMTP server for tests: Debian's dovecot-core and dovecot-lmtpd, unpacked by
scripts/install-deps.sh (never installed), run in the foreground with its own config, runtime
folder and Maildirs in a scratch directory.

Dovecot's binaries look for their helpers and modules at compiled-in paths (/usr/lib/dovecot,
/usr/bin/doveconf). So the daemon runs in a private mount namespace (unshare -m) in which the
unpacked /usr/lib, /usr/bin and /usr/sbin are overlaid on the system's: nothing changes outside
that namespace, and no system user or file is needed (it runs its services as nobody).
It listens on 127.0.0.1 on a free port and on a unix socket, knows the users ideal@example.test
and other@example.test (others get 550 5.1.1 at RCPT) and delivers into Maildirs.

DovecotAuthInstance is the same daemon with no protocol at all, only its auth service: the
auth-client socket SMTP AUTH asks (auth.dovecot_socket), and a passwd-file of SHA512-CRYPT hashes.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from daemon_process import (greets_with_220, start_on_free_port, stop_process_group,
                            wait_for_maildir_message, wait_until_ready)

DOMAIN = "example.test"
USERS = ("ideal", "other")
DEFAULT_ROOT = Path("/opt/mailgate-test-tools/dovecot")  # where install-deps.sh unpacks it
READY_TIMEOUT = 15.0
NOBODY = (65534, 65534)

CONFIG = """\
# A private Dovecot LMTP server for mailgate's integration tests (see dovecot_instance.py).
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = lmtp
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
ssl = no
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
  unix_listener lmtp {{
    mode = 0666
  }}
}}
"""


def _overlay_script(root: Path, then: str) -> str:
    mounts = " && ".join(
        f"mount -t overlay overlay -o lowerdir={root}/usr/{d}:/usr/{d} /usr/{d}"
        for d in ("lib", "bin", "sbin"))
    return f"{mounts} && {then}"


def dovecot_root(service: str = "lmtp"):
    """The unpacked Dovecot with `service` (lmtp, auth), or None (with why) when it cannot run."""
    root = Path(os.environ.get("MAILGATE_DOVECOT_ROOT") or DEFAULT_ROOT)
    if not (root / "usr" / "sbin" / "dovecot").is_file():
        return None, f"{root}/usr/sbin/dovecot not found (scripts/install-deps.sh unpacks it)"
    if not (root / "usr" / "lib" / "dovecot" / service).is_file():
        return None, f"{root} has no {service} service (dovecot-core, dovecot-lmtpd)"
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None, "a private Dovecot needs root and unshare(1) for its mount namespace"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", _overlay_script(root, "true")],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        return None, f"cannot overlay the unpacked Dovecot here: {probe.stderr.strip()}"
    return root, ""


class DovecotInstance:
    """One `dovecot -F` in a private mount namespace, everything else under DIR."""

    config_template = CONFIG

    def __init__(self, dovecot: Path, directory: Path):
        self.dovecot = dovecot
        self.dir = directory
        self.config = directory / "dovecot.conf"
        self.mail_dir = directory / "mail"
        self.log = directory / "dovecot.log"
        self.output = directory / "dovecot.out"
        self.socket_path = directory / "run" / "lmtp"
        self.port = 0
        self.proc = None

    @classmethod
    def create(cls, dovecot: Path) -> "DovecotInstance":
        directory = Path(tempfile.mkdtemp(prefix="mailgate-dovecot-")).resolve()
        directory.chmod(0o755)
        for name in ("run", "state", "mail"):
            (directory / name).mkdir()
        os.chown(directory / "mail", *NOBODY)
        (directory / "users").write_text("".join(
            f"{user}@{DOMAIN}::{NOBODY[0]}:{NOBODY[1]}::{directory}/mail/{user}\n"
            for user in USERS))
        return cls(dovecot, directory)

    def log_text(self) -> str:
        parts = []
        for path in (self.output, self.log):
            try:
                parts.append(f"--- {path.name}\n" + path.read_text(errors="replace"))
            except FileNotFoundError:
                pass
        return "\n".join(parts)

    def start(self) -> "DovecotInstance":
        start_on_free_port("dovecot", self._launch, self._wait_ready, self.stop, self.log_text)
        return self

    def _launch(self, port: int) -> None:
        self.port = port
        self.config.write_text(self.config_template.format(root=self.dir, port=port))
        script = _overlay_script(self.dovecot, f"exec /usr/sbin/dovecot -c {self.config} -F")
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script],
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_ready(self) -> bool:
        return wait_until_ready(lambda: self.socket_path.exists() and greets_with_220(self.port),
                                lambda: self.proc.poll() is None, READY_TIMEOUT)

    def stop(self) -> None:
        stop_process_group(self.proc, 10)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def maildir_files(self, user: str) -> list[Path]:
        try:
            return sorted((self.mail_dir / user / "Maildir" / "new").iterdir())
        except FileNotFoundError:
            return []

    def wait_for_message(self, user: str, marker: bytes, timeout: float = 20.0) -> bytes:
        return wait_for_maildir_message(lambda: self.maildir_files(user), marker,
                                        f"{user}@{DOMAIN}", self.log_text, timeout)


AUTH_CONFIG = """\
# A private Dovecot auth service for mailgate's integration tests (see dovecot_instance.py).
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = none
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
ssl = no
auth_mechanisms = plain login
# "alice" logs in as alice@example.test: Dovecot's canonical name differs from the one given
auth_default_realm = {domain}
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {root}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home
}}
service auth {{
  unix_listener auth-client {{
    path = auth-client
    mode = 0666
  }}
}}
"""


class DovecotAuthInstance(DovecotInstance):
    """Dovecot's auth service alone, answering on DIR/run/auth-client for `users`."""

    config_template = AUTH_CONFIG

    def __init__(self, dovecot: Path, directory: Path):
        super().__init__(dovecot, directory)
        self.socket_path = directory / "run" / "auth-client"

    @classmethod
    def create(cls, dovecot: Path, users: dict[str, str]) -> "DovecotAuthInstance":
        """users: full name (user@example.test) -> password."""
        directory = Path(tempfile.mkdtemp(prefix="mailgate-dovecot-auth-")).resolve()
        directory.chmod(0o755)
        for name in ("run", "state"):
            (directory / name).mkdir()
        lines = []
        for name, password in users.items():
            sha512 = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                                    check=True, capture_output=True, text=True,
                                    timeout=30).stdout.strip()
            lines.append(f"{name}:{sha512}\n")
        (directory / "users").write_text("".join(lines))
        (directory / "users").chmod(0o644)  # read by the auth worker, which runs as nobody
        return cls(dovecot, directory)

    def start(self) -> "DovecotAuthInstance":
        self.config.write_text(self.config_template.format(root=self.dir, domain=DOMAIN))
        script = _overlay_script(self.dovecot, f"exec /usr/sbin/dovecot -c {self.config} -F")
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script],
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        if not self._wait_ready():
            self.stop()
            raise RuntimeError(f"private dovecot auth did not answer on {self.socket_path}\n"
                               f"{self.log_text()[-6000:]}")
        return self

    def _wait_ready(self) -> bool:
        return wait_until_ready(self._answers_handshake, lambda: self.proc.poll() is None,
                                READY_TIMEOUT)

    def _answers_handshake(self) -> bool:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.socket_path))
            sock.sendall(b"VERSION\t1\t2\nCPID\t1\n")
            data = b""
            while b"DONE\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return b"DONE\n" in data
