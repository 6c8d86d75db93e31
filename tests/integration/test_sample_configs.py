"""Every configuration shipped in config/ passes `mailgate --check-config` (plugins loaded)."""

from pathlib import Path

import pytest

from mailgate_process import build_paths, run_mailgate

SAMPLES = sorted((build_paths().source_dir / "config").glob("*.yaml"))
DEPLOYMENT_GUIDES = ("postfix.yaml", "sendmail.yaml", "qmail.yaml", "exim.yaml",
                     "dovecot-lmtp.yaml")


def test_every_deployment_has_a_config():
    names = {path.name for path in SAMPLES}
    assert set(DEPLOYMENT_GUIDES) <= names, sorted(names)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_sample_passes_check_config(build, mailgate_binary, path: Path):
    result = run_mailgate(build, ["--check-config", str(path)], cwd=build.source_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: ok (1 plugins loaded)", result.stdout
    assert result.stderr == "", result.stderr


def test_deployment_guide_names_every_config(build):
    guide = (build.source_dir / "docs" / "deployment.md").read_text(encoding="utf-8")
    for name in DEPLOYMENT_GUIDES:
        assert f"config/{name}" in guide, name
