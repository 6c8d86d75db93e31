"""Fixtures: the recording backend, and a factory of mailgate processes stopped at teardown."""

from contextlib import contextmanager

import pytest

from mailgate_process import HOSTNAME, BuildPaths, MailgateProcess, build_paths, gateway_config
from recording_backend import RecordingBackend
from tls_pki import TestPki


@pytest.fixture(scope="session")
def build() -> BuildPaths:
    return build_paths()


@pytest.fixture(scope="session")
def mailgate_binary(build):
    if not build.binary.is_file():
        pytest.fail(f"mailgate binary not found at {build.binary} (set MAILGATE_BUILD_DIR)")
    return build.binary


@contextmanager
def running_backend(lmtp: bool = False):
    backend = RecordingBackend(lmtp=lmtp).start()
    try:
        yield backend
    finally:
        backend.stop()


class GatewayGroup:
    """The mailgate processes of one test (or module); all stopped and checked at the end."""

    def __init__(self, build: BuildPaths, workdir):
        self.build = build
        self.workdir = workdir
        self.processes: list[MailgateProcess] = []

    def start(self, config: dict, env: dict = None) -> MailgateProcess:
        process = MailgateProcess(self.build, self.workdir, f"mailgate-{len(self.processes) + 1}")
        self.processes.append(process)
        try:
            return process.start(config, env)
        except RuntimeError as error:
            pytest.fail(str(error))

    def stop_all(self) -> list[str]:
        """Stops every process; returns a problem for each one that did not exit 0 by itself."""
        problems = []
        for process in self.processes:
            code = process.stop()
            if process.killed or code not in (0, None):
                problems.append(f"{process.name} exited {code} (killed: {process.killed}); "
                                f"log:\n{process.log_text()[-4000:]}")
        return problems


@contextmanager
def gateway_group(build, workdir):
    group = GatewayGroup(build, workdir)
    try:
        yield group
    finally:
        problems = group.stop_all()
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def backend():
    with running_backend() as recording:
        yield recording


@pytest.fixture
def start_gateway(build, mailgate_binary, backend, tmp_path):
    """start_gateway(server=, limits=, backend=, plugins=, env=) -> a running MailgateProcess;
    env adds environment variables."""
    with gateway_group(build, tmp_path) as group:
        yield lambda env=None, **sections: group.start(
            gateway_config(build, backend.port, **sections), env)


@pytest.fixture
def gateway(start_gateway):
    """mailgate with the default test config, relaying to the `backend` fixture."""
    return start_gateway()


@pytest.fixture(scope="module")
def module_backend():
    with running_backend() as recording:
        yield recording


@pytest.fixture(scope="module")
def module_start_gateway(build, mailgate_binary, module_backend, tmp_path_factory):
    """Like start_gateway, shared by the tests of one module, relaying to module_backend."""
    with gateway_group(build, tmp_path_factory.mktemp("mailgate")) as group:
        yield lambda **sections: group.start(gateway_config(build, module_backend.port, **sections))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA with mailgate's certificate as pki.mx (modules that need more certificates
    define a pki fixture of their own)."""
    pki = TestPki(tmp_path_factory.mktemp("pki"))
    pki.mx = pki.issue(HOSTNAME, dns=(HOSTNAME,), ips=("127.0.0.1",))
    return pki
