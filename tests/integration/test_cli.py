"""The command line: --version, --check-config with located errors, usage errors."""

import re

import pytest

from mailgate_process import free_port, gateway_config, run_mailgate, write_config

UNKNOWN_KEY_AND_BAD_SIZE = """\
server:
  listen: ["127.0.0.1:2525"]
  hostname: mx.test.example
  bogus_key: 1
limits:
  max_message_size: 12XB
backend:
  type: smtp
  servers: ["127.0.0.1:10025"]
plugins: []
"""  # errors on lines 4 and 6

YAML_SYNTAX_ERROR = """\
server:
  listen: ["127.0.0.1:2525"]
  hostname: mx: test
backend:
  type: smtp
  servers: ["127.0.0.1:10025"]
"""  # error on line 3

MISSING_BACKEND = """\
server:
  listen: ["127.0.0.1:2525"]
  hostname: mx.test.example
plugins: []
"""


def check_config(build, path, cwd):
    result = run_mailgate(build, ["--check-config", str(path)], cwd=cwd)
    return result, result.stdout + result.stderr


def located_errors(output: str, path) -> list[tuple[int, int, str]]:
    """Every FILE:LINE:COL: message line about path, as (line, column, message)."""
    pattern = rf"^{re.escape(str(path))}:(\d+):(\d+): (.+)$"
    return [(int(l), int(c), m) for l, c, m in re.findall(pattern, output, re.M)]


def test_version(build, mailgate_binary):
    """--version exits 0 and prints "mailgate <version>"."""
    result = run_mailgate(build, ["--version"])
    assert result.returncode == 0, result.stderr
    assert re.match(r"^mailgate \S+", result.stdout), result.stdout


def test_check_good_config(build, mailgate_binary, tmp_path):
    """--check-config on the default test config exits 0."""
    path = write_config(tmp_path / "good.yaml", gateway_config(build, free_port()))
    result, output = check_config(build, path, tmp_path)
    assert result.returncode == 0, output


def test_check_shipped_config(build, mailgate_binary, tmp_path):
    """--check-config on config/mailgate.yaml exits 0 (its plugins from the plugin folder)."""
    # From the source tree, as the README runs it: the rules file is named relative to it.
    result, output = check_config(build, build.source_dir / "config" / "mailgate.yaml",
                                  build.source_dir)
    assert result.returncode == 0, output


def test_unknown_key_and_bad_size_both_reported(build, mailgate_binary, tmp_path):
    """Every error is printed as FILE:LINE:COL: message, with the lines of the mistakes."""
    path = tmp_path / "broken.yaml"
    path.write_text(UNKNOWN_KEY_AND_BAD_SIZE)
    result, output = check_config(build, path, tmp_path)
    assert result.returncode == 1, output
    errors = located_errors(output, path)
    assert any(line == 4 and "bogus_key" in message for line, _, message in errors), output
    assert any(line == 6 for line, _, _ in errors), output


def test_yaml_syntax_error_located(build, mailgate_binary, tmp_path):
    """A YAML syntax error is reported at its line."""
    path = tmp_path / "syntax.yaml"
    path.write_text(YAML_SYNTAX_ERROR)
    result, output = check_config(build, path, tmp_path)
    assert result.returncode == 1, output
    assert [line for line, _, _ in located_errors(output, path)] == [3], output


def test_missing_backend_reported(build, mailgate_binary, tmp_path):
    """A config without a backend section is an error that says so."""
    path = tmp_path / "nobackend.yaml"
    path.write_text(MISSING_BACKEND)
    result, output = check_config(build, path, tmp_path)
    assert result.returncode == 1, output
    assert any("backend" in message for _, _, message in located_errors(output, path)), output


@pytest.mark.parametrize("args", [[], ["--no-such-option"]])
def test_usage_error(build, mailgate_binary, args):
    """No arguments or an unknown option exits 2 with a usage text."""
    result = run_mailgate(build, args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "usage" in (result.stdout + result.stderr).lower()
