"""The SDK as a third party uses it: install it, build sdk/examples out of tree against the
installed package, and load the results into the real gateway next to relay_access."""

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mailgate_process import (LOCAL_DOMAIN, free_port, gateway_config, relay_access_entry,
                              run_mailgate, write_config)
from smtp_client import RawClient, open_session, send_message
from smtp_text import envelope_address, header_block

BUILD_TIMEOUT = 120  # seconds for one cmake step; the whole module takes a few seconds
STAMP_HEADER = "X-Stamp"
STAMP_VALUE = "checked by mailgate: out-of-tree"
BLOCKED_DOMAINS = ["spam.example", ".bulk.example"]
BLOCK_MESSAGE = "Sender domain blocked"
RCPT = f"user@{LOCAL_DOMAIN}"
MESSAGE = b"Subject: sdk\r\nFrom: a@b.example\r\n\r\nhello from outside the tree\r\n"

# A C++ plugin written here, not shipped: it exercises what plugin.hpp promises at the
# boundary (exceptions in a hook become tempfail, ConfigError becomes a located config error).
PROBE_CMAKE = """cmake_minimum_required(VERSION 3.20)
project(probe LANGUAGES CXX)
find_package(mailgate CONFIG REQUIRED)
set(CMAKE_LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/plugins)
mailgate_add_plugin(probe probe.cpp)
"""
PROBE_SOURCE = r"""#include <mailgate/plugin.hpp>

#include <stdexcept>
#include <string>

using mailgate::sdk::ConfigError;
using mailgate::sdk::Session;
using mailgate::sdk::Verdict;

class Probe : public mailgate::sdk::Plugin {
  public:
    explicit Probe(std::string_view yaml) {
        if (yaml.find("refuse") != std::string_view::npos) {
            throw ConfigError("refuse", "probe refuses this config");
        }
    }
    Verdict on_rcpt_to(Session& session) const override {
        const std::string rcpt(session.current_recipient());
        if (rcpt.starts_with("throw-std@")) {
            throw std::runtime_error("probe failure for " + rcpt);
        }
        if (rcpt.starts_with("throw-int@")) {
            throw 7;
        }
        return Verdict::Continue;
    }
};

MAILGATE_PLUGIN(Probe, "probe", "0.0.1")
"""


# --- building ------------------------------------------------------------------------------

def run(args, cwd=None):
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, errors="replace",
                            timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, (f"{' '.join(map(str, args))} exited {result.returncode}\n"
                                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def configure_and_build(source: Path, binary: Path, prefix: Path) -> Path:
    """Builds a plugin project against the installed SDK, warnings as errors; its plugins/."""
    args = ["cmake", "-S", source, "-B", binary, f"-DCMAKE_PREFIX_PATH={prefix}",
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror", "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror"]
    if shutil.which("ninja"):
        args += ["-G", "Ninja"]
    if shutil.which("ccache"):
        args += ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]
    run(args)
    run(["cmake", "--build", binary])
    return binary / "plugins"


@pytest.fixture(scope="module")
def sdk_prefix(build, mailgate_binary, tmp_path_factory) -> Path:
    """The build tree installed into a fresh prefix, as a packager would."""
    prefix = tmp_path_factory.mktemp("prefix")
    run(["cmake", "--install", build.build_dir, "--prefix", prefix])
    return prefix


@pytest.fixture(scope="module")
def example_plugins(build, sdk_prefix, tmp_path_factory) -> Path:
    """sdk/examples configured and built out of tree; the folder holding both .so files."""
    return configure_and_build(build.source_dir / "sdk" / "examples",
                               tmp_path_factory.mktemp("examples-build"), sdk_prefix)


@pytest.fixture(scope="module")
def probe_plugin(sdk_prefix, tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("probe-src")
    (source / "CMakeLists.txt").write_text(PROBE_CMAKE)
    (source / "probe.cpp").write_text(PROBE_SOURCE)
    plugins = configure_and_build(source, tmp_path_factory.mktemp("probe-build"), sdk_prefix)
    return plugins / "probe.so"


# --- configs -------------------------------------------------------------------------------

def sender_block_entry(plugins: Path, domains=BLOCKED_DOMAINS):
    return {"name": "sender_block", "path": str(plugins / "sender_block.so"),
            "config": {"domains": list(domains), "message": BLOCK_MESSAGE}}


def header_stamp_entry(header=STAMP_HEADER, value=STAMP_VALUE):
    """No path: found as header_stamp.so in plugin_dir."""
    return {"name": "header_stamp", "config": {"header": header, "value": value}}


def start_examples(start_gateway, build, plugins: Path):
    return start_gateway(plugin_dir=str(plugins), plugins=[
        sender_block_entry(plugins), header_stamp_entry(), relay_access_entry(build)])


# --- tests ---------------------------------------------------------------------------------

def test_installed_package_layout(sdk_prefix):
    """cmake --install puts both headers and the CMake package (config + version) in place."""
    for relative in ("include/mailgate/plugin.h", "include/mailgate/plugin.hpp",
                     "lib/cmake/mailgate/mailgateConfig.cmake",
                     "lib/cmake/mailgate/mailgateConfigVersion.cmake"):
        assert (sdk_prefix / relative).is_file(), relative


class Descriptor(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("abi_version", ctypes.c_uint32),
                ("name", ctypes.c_char_p), ("version", ctypes.c_char_p),
                ("create", ctypes.c_void_p), ("destroy", ctypes.c_void_p),
                ("on_connect", ctypes.c_void_p), ("on_helo", ctypes.c_void_p),
                ("on_mail_from", ctypes.c_void_p), ("on_rcpt_to", ctypes.c_void_p),
                ("on_end_of_message", ctypes.c_void_p), ("on_close", ctypes.c_void_p),
                # ABI 1.2
                ("on_data", ctypes.c_void_p), ("on_headers", ctypes.c_void_p),
                ("on_body_chunk", ctypes.c_void_p), ("on_reset", ctypes.c_void_p),
                ("edits", ctypes.c_uint32), ("flags", ctypes.c_uint32)]


HOOKS = ("on_connect", "on_helo", "on_mail_from", "on_rcpt_to", "on_end_of_message", "on_close",
         "on_data", "on_headers", "on_body_chunk", "on_reset")
MG_EDIT_ADD_HEADER = 1
MG_PLUGIN_NONBLOCKING = 1


@pytest.mark.parametrize("name,hooks", [("header_stamp", {"on_end_of_message"}),
                                        ("sender_block", {"on_mail_from"})])
def test_descriptor(example_plugins, name, hooks):
    """Each example exports one entry whose descriptor registers exactly the hooks it needs
    (for sender_block: the ones the C++ class overrides)."""
    library = ctypes.CDLL(str(example_plugins / f"{name}.so"))
    entry = library.mailgate_plugin_entry
    entry.restype = ctypes.POINTER(Descriptor)
    descriptor = entry().contents
    assert descriptor.struct_size == ctypes.sizeof(Descriptor)
    assert descriptor.abi_version >> 16 == 1
    assert (descriptor.name, descriptor.version) == (name.encode(), b"1.0.0")
    assert descriptor.create and descriptor.destroy
    assert {hook for hook in HOOKS if getattr(descriptor, hook)} == hooks
    # Both only add headers (sender_block by the wrapper's default) and never block.
    assert descriptor.edits == MG_EDIT_ADD_HEADER
    assert descriptor.flags == MG_PLUGIN_NONBLOCKING


def test_examples_in_the_gateway(start_gateway, build, backend, example_plugins):
    """header_stamp's header reaches the backend; sender_block refuses blocked sender domains
    with 550 5.7.1 before the backend hears of them, and lets every other sender through."""
    gw = start_examples(start_gateway, build, example_plugins)
    with RawClient(gw.port) as client:
        open_session(client)
        for blocked in ("x@spam.example", "y@SPAM.Example", "z@mail.bulk.example"):
            reply = client.command(f"MAIL FROM:<{blocked}>")
            assert (reply.code, reply.enhanced) == (550, "5.7.1"), f"{blocked}: {reply}"
            assert f"<{blocked}>: {BLOCK_MESSAGE}" in reply.text, str(reply)
        # After the refusals the session goes on: allowed senders, and the null sender.
        for sender in ("ok@good.example", "ok@bulk.example", "ok@notspam.example", ""):
            reply = send_message(client, sender, [RCPT], MESSAGE)
            assert reply.code == 250, f"{sender}: {reply}"
    transactions = backend.wait_for_transactions(4)
    assert [tx.sender for tx in transactions] == [
        "ok@good.example", "ok@bulk.example", "ok@notspam.example", ""]
    # The backend heard MAIL FROM for the allowed senders only.
    assert [envelope_address(line[len("MAIL FROM:"):]) for line in backend.commands("MAIL")] \
        == [tx.sender for tx in transactions]
    stamp = f"{STAMP_HEADER}: {STAMP_VALUE}\r\n".encode()
    for tx in transactions:
        headers = header_block(tx.data)
        assert headers.endswith(b"\r\n" + stamp), headers  # added after the client's headers
        assert headers.count(stamp) == 1, headers
        assert tx.data.endswith(b"\r\n\r\nhello from outside the tree\r\n")
    assert "sender <x@spam.example> refused: domain spam.example" in gw.log_text()


def test_bad_example_configs_are_located(build, example_plugins, tmp_path):
    """--check-config exits 1 and prints FILE:LINE:COL at the bad sender_block entry and at the
    bad header_stamp key."""
    config = gateway_config(build, free_port(), plugin_dir=str(example_plugins), plugins=[
        sender_block_entry(example_plugins, ["spam.example", "not a domain!"]),
        header_stamp_entry(header="Bad Name"), relay_access_entry(build)])
    path = write_config(tmp_path / "mailgate.yaml", config)
    lines = path.read_text().splitlines()
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1, result.stdout + result.stderr
    located = re.findall(rf"^{re.escape(str(path))}:(\d+):(\d+): (.*)$", result.stderr, re.M)
    domains_line = next(i for i, line in enumerate(lines, 1) if "domains:" in line)
    domain_column = lines[domains_line - 1].index('"not a domain!"') + 1
    assert any((int(line), int(column)) == (domains_line, domain_column)
               and "sender_block" in message and "domains[1]" in message
               and "'not a domain!' is not a domain name" in message
               for line, column, message in located), (domains_line, domain_column,
                                                        result.stderr)
    header_line = next(i for i, line in enumerate(lines, 1) if '"Bad Name"' in line)
    assert any(int(line) == header_line and "header_stamp" in message and "header" in message
               for line, _, message in located), (header_line, result.stderr)


def test_good_example_config_checks(build, example_plugins, tmp_path):
    """--check-config accepts the examples with a valid config and counts them as loaded."""
    config = gateway_config(build, free_port(), plugin_dir=str(example_plugins), plugins=[
        sender_block_entry(example_plugins), header_stamp_entry(), relay_access_entry(build)])
    path = write_config(tmp_path / "mailgate.yaml", config)
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 0, result.stderr
    assert "3 plugins loaded" in result.stdout, result.stdout


def test_exceptions_become_tempfail(start_gateway, build, probe_plugin):
    """A hook that throws (std::exception or anything else) is handled by the plugin's on_error
    policy (tempfail by default: 4xx) and the reason is logged; the session and the gateway
    carry on."""
    gw = start_gateway(plugins=[{"name": "probe", "path": str(probe_plugin)},
                                relay_access_entry(build)])
    with RawClient(gw.port) as client:
        open_session(client)
        assert client.command("MAIL FROM:<s@remote.example>").code == 250
        for rcpt in (f"throw-std@{LOCAL_DOMAIN}", f"throw-int@{LOCAL_DOMAIN}"):
            reply = client.command(f"RCPT TO:<{rcpt}>")
            assert reply.code // 100 == 4, f"{rcpt}: {reply}"
        assert client.command(f"RCPT TO:<{RCPT}>").code == 250
    log = gw.log_text()
    assert f"plugin probe: on_rcpt_to threw: probe failure for throw-std@{LOCAL_DOMAIN}" in log, log
    assert "plugin probe reported an error at rcpt_to; on_error: tempfail" in log, log
    assert "on_rcpt_to threw: an exception not derived from std::exception" in log, log


def test_config_error_exception_is_located(build, probe_plugin, tmp_path):
    """ConfigError thrown by a C++ plugin's constructor is a config error at its path."""
    config = gateway_config(build, free_port(), plugins=[
        {"name": "probe", "path": str(probe_plugin), "config": {"refuse": True}}])
    path = write_config(tmp_path / "mailgate.yaml", config)
    result = run_mailgate(build, ["--check-config", str(path)])
    assert result.returncode == 1, result.stderr
    refuse_line = next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                       if "refuse:" in line)
    assert re.search(rf"^{re.escape(str(path))}:{refuse_line}:\d+: .*probe.*refuse.*"
                     "probe refuses this config", result.stderr, re.M), result.stderr


@pytest.mark.parametrize("compiler", ["g++", "clang++"])
def test_header_compiles_warning_free(sdk_prefix, build, compiler):
    """plugin.hpp (through sender_block.cpp) compiles with -Wall -Wextra -Wpedantic -Werror."""
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} not installed")
    run([compiler, "-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only",
         f"-I{sdk_prefix / 'include'}",
         build.source_dir / "sdk" / "examples" / "sender_block" / "sender_block.cpp"])
