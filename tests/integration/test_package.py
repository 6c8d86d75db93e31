"""The .deb: CPack builds it from the install rules; unpacked without root, its mailgate checks
its own sample config with its own plugins, and its systemd unit points at that binary."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mailgate_process import build_paths

PACKAGE_TIMEOUT = 600  # cpack re-runs the (up to date) build, then dpkg-shlibdeps
EXPECTED_FILES = [
    "usr/bin/mailgate",
    "usr/lib/mailgate/plugins/relay_access.so",
    "usr/lib/mailgate/plugins/spam_score.so",
    "usr/lib/mailgate/plugins/rewrite.so",
    "usr/lib/mailgate/plugins/dnsbl.so",
    "etc/mailgate/rules/spam_score.yaml",
    "usr/share/doc/mailgate/plugins/spam_score.md",
    "usr/include/mailgate/plugin.h",
    "usr/include/mailgate/plugin.hpp",
    "usr/include/mailgate/trace_text.hpp",
    "usr/lib/cmake/mailgate/mailgateConfig.cmake",
    "usr/lib/cmake/mailgate/mailgateConfigVersion.cmake",
    "usr/lib/cmake/mailgate/mailgateTargets.cmake",
    "usr/lib/cmake/mailgate/mailgatePlugin.cmake",
    "etc/mailgate/mailgate.yaml",
    "lib/systemd/system/mailgate.service",
    "usr/share/doc/mailgate/examples/mailgate.yaml",
    "usr/share/doc/mailgate/examples/smtp-backend.example.yaml",
    "usr/share/doc/mailgate/examples/mailgate.service",
    "usr/share/doc/mailgate/operations.md",
    "usr/share/doc/mailgate/configuration.md",
]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    build = build_paths().build_dir
    cpack = os.environ.get("MAILGATE_CPACK") or shutil.which("cpack")
    if not cpack or not shutil.which("dpkg-deb"):
        pytest.fail("cpack and dpkg-deb are needed to build the package")
    out = tmp_path_factory.mktemp("package")
    result = subprocess.run([cpack, "-G", "DEB", "-B", str(out), "--config",
                             str(build / "CPackConfig.cmake")], cwd=build, capture_output=True,
                            text=True, timeout=PACKAGE_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    debs = list(out.glob("mailgate_*.deb"))
    assert len(debs) == 1, result.stdout
    return debs[0]


@pytest.fixture(scope="module")
def unpacked(package, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(package), str(root)], check=True, timeout=60)
    return root


def dpkg_field(package: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(package), field], check=True, timeout=60,
                          capture_output=True, text=True).stdout.strip()


def unit_settings(unit: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


# The package holds the program, plugins, SDK, configs, docs and unit, named and versioned.
def test_package_contents(package, unpacked):
    missing = [path for path in EXPECTED_FILES if not (unpacked / path).is_file()]
    assert not missing, sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*"))
    assert os.access(unpacked / "usr/bin/mailgate", os.X_OK)
    assert dpkg_field(package, "Package") == "mailgate"
    assert dpkg_field(package, "Version") == "0.1.0"
    depends = dpkg_field(package, "Depends")
    assert "adduser" in depends and "libyaml-cpp" in depends, depends
    control = unpacked.parent / (unpacked.name + "-control")
    subprocess.run(["dpkg-deb", "-e", str(package), str(control)], check=True, timeout=60)
    assert (control / "conffiles").read_text().split() == [
        "/etc/mailgate/mailgate.yaml", "/etc/mailgate/rules/spam_score.yaml"]
    for script in ("postinst", "prerm", "postrm"):
        assert os.access(control / script, os.X_OK), script
    assert "adduser --system" in (control / "postinst").read_text()


# The unpacked mailgate checks the unpacked /etc config and loads the plugin shipped beside it
# (found from its own location, as /usr/bin/mailgate finds /usr/lib/mailgate/plugins).
def test_installed_binary_checks_the_installed_sample(unpacked):
    binary = unpacked / "usr/bin/mailgate"
    # The config names the rules file by its /etc path: here, the unpacked one.
    config = unpacked / "unpacked.yaml"
    config.write_text((unpacked / "etc/mailgate/mailgate.yaml").read_text().replace(
        "/etc/mailgate/", f"{unpacked}/etc/mailgate/"))
    result = subprocess.run([str(binary), "--check-config", str(config)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{config}: ok (3 plugins loaded)"

    # The plugin came from the unpacked tree: a missing one is looked for there first.
    broken = unpacked / "broken.yaml"
    broken.write_text(config.read_text().replace("name: relay_access", "name: no_such_plugin"))
    result = subprocess.run([str(binary), "--check-config", str(broken)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1
    assert str(unpacked / "usr/lib/mailgate/plugins/no_such_plugin.so") in result.stderr


# The unit starts and reloads the packaged binary on the packaged config, sandboxed.
def test_systemd_unit_matches_the_package(unpacked):
    unit = unpacked / "lib/systemd/system/mailgate.service"
    settings = unit_settings(unit)
    assert settings["ExecStart"] == ["/usr/bin/mailgate --config /etc/mailgate/mailgate.yaml"]
    for command in settings["ExecStart"] + settings["ExecStartPre"] + settings["ExecReload"]:
        program = command.split()[0]
        if program != "/bin/kill":
            assert (unpacked / program.lstrip("/")).is_file(), command
    assert settings["ExecReload"][-1] == "/bin/kill -HUP $MAINPID"
    assert settings["User"] == ["mailgate"]
    for key, value in [("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"),
                       ("PrivateTmp", "yes"), ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
                       ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
                       ("Restart", "on-failure"), ("ReadWritePaths", "/var/lib/mailgate")]:
        assert settings[key] == [value], key
    assert int(settings["LimitNOFILE"][0]) >= 65536


# systemd itself accepts the unit without a warning (when systemd-analyze is there). The copy
# checked names the unpacked binary, which systemd-analyze requires to exist.
def test_systemd_analyze_verify(unpacked, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = (unpacked / "lib/systemd/system/mailgate.service").read_text()
    checked = tmp_path / "mailgate.service"
    checked.write_text(unit.replace("/usr/bin/mailgate", str(unpacked / "usr/bin/mailgate")))
    result = subprocess.run([analyze, "verify", "--man=no", str(checked)],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")

    # A misspelt key would only be warned about: the check above catches warnings too.
    checked.write_text(checked.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    result = subprocess.run([analyze, "verify", "--man=no", str(checked)],
                            capture_output=True, text=True, timeout=60)
    assert "Unknown key" in result.stderr


# `cmake --install --prefix DIR` puts the config and unit under DIR, the unit naming DIR's
# binary, and leaves an existing config alone.
def test_cmake_install_under_a_prefix(tmp_path):
    build = build_paths().build_dir
    prefix = tmp_path / "prefix"
    install = ["cmake", "--install", str(build), "--prefix", str(prefix)]
    result = subprocess.run(install, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    config = prefix / "etc/mailgate/mailgate.yaml"
    settings = unit_settings(prefix / "lib/systemd/system/mailgate.service")
    assert settings["ExecStart"] == [f"{prefix}/bin/mailgate --config {config}"]
    assert (prefix / "share/doc/mailgate/examples/mailgate.yaml").is_file()

    config.write_text("# edited\n")
    result = subprocess.run(install, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert config.read_text() == "# edited\n"
