"""Shared by the private daemons the tests start (Postfix, Exim, Dovecot, spamd, Rspamd): the
start on a free port, waiting until a daemon answers, a fixture's start-and-clean-up, waiting
for a delivered message, and stopping a process group."""

import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Callable

import pytest

from mailgate_process import free_port

START_ATTEMPTS = 3


def start_on_free_port(what: str, launch: Callable[[int], None], ready: Callable[[], bool],
                       stop: Callable[[], None], log_text: Callable[[], str]) -> int:
    """launch(port) starts the daemon on a free port and ready() waits (bounded) until it
    serves there. A port taken meanwhile ("address already in use") is tried again, up to
    START_ATTEMPTS times. Returns the port; raises RuntimeError with the log otherwise."""
    port = 0
    for _ in range(START_ATTEMPTS):
        port = free_port()
        launch(port)
        if ready():
            return port
        stop()
        if "address already in use" not in log_text().lower():
            break
    raise RuntimeError(f"private {what} did not start on 127.0.0.1:{port}\n{log_text()[-6000:]}")


def wait_until_ready(probe: Callable[[], bool], alive: Callable[[], bool], timeout: float,
                     interval: float = 0.1) -> bool:
    """Tries probe() every `interval` (an OSError counts as not yet) until it says True, the
    daemon is gone, or `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            if probe():
                return True
        except OSError:
            pass
        time.sleep(interval)
    return False


def greets_with_220(port: int) -> bool:
    """True when 127.0.0.1:port answers with an SMTP greeting (then QUIT)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.settimeout(5)
        if sock.recv(512).startswith(b"220"):
            sock.sendall(b"QUIT\r\n")
            return True
    return False


def run_instance(instance):
    """A module fixture's body: starts `instance` (a failed start fails the test), yields it,
    then stops and removes it whatever happened. A stop() that returns processes it had to kill
    (Postfix's does) gives a warning with the instance's log."""
    try:
        try:
            instance.start()
        except RuntimeError as error:
            pytest.fail(str(error))
        yield instance
    finally:
        try:
            killed = instance.stop()
            if killed:
                warnings.warn(f"{type(instance).__name__}: processes {killed} had to be killed\n"
                              f"{instance.log_text()}")
        finally:
            instance.remove()


def wait_for_maildir_message(files: Callable[[], list[Path]], marker: bytes, who: str,
                             log_text: Callable[[], str], timeout: float = 20.0) -> bytes:
    """The one delivered message among files() that contains marker (polled, bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [path.read_bytes() for path in files()]
        found = [data for data in found if marker in data]
        if len(found) > 1:
            raise AssertionError(f"{len(found)} messages for {who} contain {marker!r}")
        if found:
            return found[0]
        if time.monotonic() >= deadline:
            raise AssertionError(f"no message for {who} containing {marker!r} "
                                 f"within {timeout:.0f} s\n{log_text()[-6000:]}")
        time.sleep(0.1)


def stop_process_group(proc, grace: float) -> None:
    """SIGTERM to the process group (the daemon's children too), SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)
