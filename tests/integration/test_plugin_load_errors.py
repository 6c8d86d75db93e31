"""A plugin that cannot be used stops start-up (exit 1) with a message naming it and why."""

import re

from mailgate_process import free_port, gateway_config, run_mailgate, write_config

CONFIG_REJECT_MESSAGE = "this plugin rejects its config: 'option' must be 'yes'"


def start_with_plugin(build, tmp_path, name: str, path, plugin_config=None):
    """Runs `mailgate --config` with one plugin; returns (process result, config path, text)."""
    entry = {"name": name, "path": str(path)}
    if plugin_config is not None:
        entry["config"] = plugin_config
    config = gateway_config(build, free_port(), plugins=[entry])
    config_path = write_config(tmp_path / "mailgate.yaml", config)
    result = run_mailgate(build, ["--config", str(config_path)], timeout=10)
    return result, config_path, config_path.read_text()


def test_missing_file(build, mailgate_binary, tmp_path):
    """A plugin path to a missing file: exit 1, stderr names the plugin and its file."""
    result, _, _ = start_with_plugin(build, tmp_path, "ghost", tmp_path / "ghost_plugin.so")
    assert result.returncode == 1, result.stderr
    assert "ghost" in result.stderr and "ghost_plugin.so" in result.stderr, result.stderr


def test_not_a_shared_object(build, mailgate_binary, tmp_path):
    """A file that is not ELF: exit 1, stderr names the plugin and its file."""
    fake = tmp_path / "x.so"
    fake.write_bytes(b"this is not a shared object\n")
    result, _, _ = start_with_plugin(build, tmp_path, "fake", fake)
    assert result.returncode == 1, result.stderr
    assert "fake" in result.stderr and "x.so" in result.stderr, result.stderr


def test_wrong_abi_version(build, mailgate_binary, tmp_path):
    """A plugin built for ABI 99: exit 1, stderr names it and both versions (99 and 1)."""
    result, _, _ = start_with_plugin(build, tmp_path, "bad_abi",
                                     build.test_plugin("bad_abi_plugin"))
    assert result.returncode == 1, result.stderr
    assert "bad_abi" in result.stderr, result.stderr
    assert re.search(r"\b99\b", result.stderr) and re.search(r"\b1\b", result.stderr), \
        result.stderr


def test_missing_entry_symbol(build, mailgate_binary, tmp_path):
    """A library without the entry symbol: exit 1, stderr names the plugin and the symbol."""
    result, _, _ = start_with_plugin(build, tmp_path, "no_entry",
                                     build.test_plugin("no_entry_plugin"))
    assert result.returncode == 1, result.stderr
    assert "no_entry" in result.stderr and "mailgate_plugin_entry" in result.stderr, \
        result.stderr


def test_plugin_rejects_its_config(build, mailgate_binary, tmp_path):
    """A plugin refusing its config: exit 1, its message as FILE:LINE:COL: at the bad key."""
    result, config_path, text = start_with_plugin(
        build, tmp_path, "config_reject", build.test_plugin("config_reject_plugin"),
        {"option": "no"})
    assert result.returncode == 1, result.stderr
    option_line = next(i for i, line in enumerate(text.splitlines(), 1)
                       if line.strip().startswith("option:"))
    located = re.findall(rf"{re.escape(str(config_path))}:(\d+):(\d+): (.*)$",
                         result.stderr, re.M)
    assert any(int(line) == option_line and CONFIG_REJECT_MESSAGE in message
               for line, _, message in located), (option_line, result.stderr)
