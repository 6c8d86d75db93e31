"""Shared by the private daemons the tests start (Exim, Dovecot): stopping a process group."""

import os
import signal
import subprocess


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
