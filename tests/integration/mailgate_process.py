"""Runs the real mailgate binary: build paths, YAML configs from dicts, start and stop."""

import copy
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HOSTNAME = "mx.test.example"
LOCAL_DOMAIN = "example.test"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0
START_ATTEMPTS = 3


@dataclass(frozen=True)
class BuildPaths:
    source_dir: Path
    build_dir: Path

    @property
    def binary(self) -> Path:
        return self.build_dir / "bin" / "mailgate"

    def plugin(self, name: str) -> Path:
        """A shipped plugin, e.g. plugin("relay_access")."""
        return self.build_dir / "plugins" / f"{name}.so"

    def test_plugin(self, name: str) -> Path:
        """A plugin built only for the tests, e.g. test_plugin("verdict_plugin")."""
        return self.build_dir / "test-plugins" / f"{name}.so"


def build_paths() -> BuildPaths:
    source = Path(os.environ.get("MAILGATE_SOURCE_DIR") or Path(__file__).resolve().parents[2])
    build = Path(os.environ.get("MAILGATE_BUILD_DIR") or source / "build")
    return BuildPaths(source.resolve(), build.resolve())


def free_port() -> int:
    """A loopback port that was free a moment ago (nothing listens on it once this returns)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- YAML ----------------------------------------------------------------------------------

def to_yaml(mapping: dict) -> str:
    """Block YAML for nested dicts/lists of str, int, bool, None (str always double-quoted)."""
    return "\n".join(_mapping_lines(mapping, 0)) + "\n"


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (str, os.PathLike)):
        return json.dumps(str(value), ensure_ascii=False)  # a valid YAML double-quoted scalar
    raise TypeError(f"no YAML for {value!r}")


def _is_scalar(value) -> bool:
    return not isinstance(value, (dict, list, tuple))


def _mapping_lines(mapping: dict, indent: int):
    pad = " " * indent
    for key, value in mapping.items():
        if _is_scalar(value):
            yield f"{pad}{key}: {_scalar(value)}"
        elif not value:
            yield f"{pad}{key}: {'{}' if isinstance(value, dict) else '[]'}"
        elif isinstance(value, dict):
            yield f"{pad}{key}:"
            yield from _mapping_lines(value, indent + 2)
        elif all(_is_scalar(item) for item in value):
            yield f"{pad}{key}: [{', '.join(_scalar(item) for item in value)}]"
        else:
            yield f"{pad}{key}:"
            yield from _sequence_lines(value, indent + 2)


def _sequence_lines(sequence, indent: int):
    pad = " " * indent
    for item in sequence:
        if _is_scalar(item):
            yield f"{pad}- {_scalar(item)}"
        elif isinstance(item, dict) and item:
            lines = list(_mapping_lines(item, indent + 2))
            lines[0] = f"{pad}- {lines[0][indent + 2:]}"
            yield from lines
        else:
            raise TypeError(f"no YAML for list item {item!r}")


# --- configs -------------------------------------------------------------------------------

def relay_access_entry(build: BuildPaths, trusted_networks=(), local_domains=(LOCAL_DOMAIN,)):
    return {"name": "relay_access", "path": str(build.plugin("relay_access")),
            "config": {"trusted_networks": list(trusted_networks),
                       "local_domains": list(local_domains)}}


def verdict_entry(build: BuildPaths, name: str = "verdict_plugin", **settings):
    """The test verdict plugin: stage, verdict, code, enhanced, text, match, add_header."""
    return {"name": name, "path": str(build.test_plugin("verdict_plugin")), "config": settings}


def smtp_backend(*ports: int, connect_timeout="2s", command_timeout="5s", **more):
    return {"type": "smtp", "servers": [f"127.0.0.1:{port}" for port in ports],
            "connect_timeout": connect_timeout, "command_timeout": command_timeout, **more}


def gateway_config(build: BuildPaths, backend_port: int, server=None, limits=None,
                   backend=None, plugins=None, **sections) -> dict:
    """The default test config; server and limits are merged in, backend and plugins replace."""
    config = {
        "server": {"listen": [], "hostname": HOSTNAME, **(server or {})},
        "limits": {"greeting_delay": "0s", "shutdown_timeout": "5s", **(limits or {})},
        "backend": backend if backend is not None else smtp_backend(backend_port),
        "plugins": plugins if plugins is not None else [relay_access_entry(build)],
    }
    config.update(sections)
    return config


MAIN_LISTENER = "MAIN"


def write_config(path: Path, config: dict, port: int = 0) -> Path:
    """Writes config as YAML, listening on 127.0.0.1:port (a free port when 0).

    server.listen may name more listeners; "MAIN" (alone, or as the address of a listener map)
    stands for 127.0.0.1:port. Without one, the main listener comes first."""
    config = copy.deepcopy(config)
    server = config.setdefault("server", {})
    main = f"127.0.0.1:{port or free_port()}"
    listen = list(server.get("listen") or [])
    if not any(item == MAIN_LISTENER or (isinstance(item, dict) and
                                         item.get("address") == MAIN_LISTENER)
               for item in listen):
        listen.insert(0, MAIN_LISTENER)
    server["listen"] = [main if item == MAIN_LISTENER else
                        {**item, "address": main} if isinstance(item, dict) and
                        item.get("address") == MAIN_LISTENER else item
                        for item in listen]
    proxy = server.get("proxy_protocol")
    if isinstance(proxy, dict) and proxy.get("listeners") == "LISTEN":
        proxy["listeners"] = [main]  # the main listener expects PROXY headers
    path.write_text(to_yaml(config), encoding="utf-8")
    return path


# --- processes -----------------------------------------------------------------------------

def run_mailgate(build: BuildPaths, args: list[str], timeout: float = 10.0, cwd=None):
    """Runs mailgate to completion (bounded); returns the CompletedProcess with text output."""
    return subprocess.run([str(build.binary), *args], cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


class MailgateProcess:
    """One `mailgate --config FILE` in the background, stderr and stdout in a log file."""

    def __init__(self, build: BuildPaths, workdir: Path, name: str = "mailgate"):
        self.build = build
        self.workdir = workdir
        self.name = name
        self.config_path = workdir / f"{name}.yaml"
        self.log_path = workdir / f"{name}.log"
        self.proc = None
        self.port = 0
        self.killed = False

    def start(self, config: dict, env: dict = None) -> "MailgateProcess":
        """Starts on a free port, retrying on a port clash; returns once it is ready: listening,
        and the metrics endpoint too when configured (it opens after the SMTP listeners bind,
        before the "ready" line). `env` adds to (or replaces) variables of our environment."""
        for _ in range(START_ATTEMPTS):
            port = free_port()
            write_config(self.config_path, config, port)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [str(self.build.binary), "--config", str(self.config_path)],
                    cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    env={**os.environ, **env} if env else None)
            self.port = port
            if (self.wait_for_log(f"listening on 127.0.0.1:{port}", START_TIMEOUT)
                    and self.wait_for_log(" ready with ", START_TIMEOUT)):
                self.killed = False
                return self
            self.kill()
            if "in use" not in self.log_text().lower():
                break
        raise RuntimeError(f"{self.name} did not start listening; log:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, timeout: float = 5.0) -> bool:
        """True once the log contains text; False at the timeout or when the process has ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text():
                return True
            if self.proc.poll() is not None:
                return text in self.log_text()
            time.sleep(0.05)
        return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = STOP_TIMEOUT):
        """The exit code, or None if still running after timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = STOP_TIMEOUT):
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        if self.running():
            self.killed = True
            self.proc.kill()
            self.proc.wait(5)
