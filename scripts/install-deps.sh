#!/usr/bin/env bash
# Installs what mailgate needs to build and test on Debian 12, from Debian's packages only.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

PACKAGES=(
    build-essential cmake ninja-build ccache pkg-config clang-format
    libboost1.81-dev libyaml-cpp-dev libssl-dev libgtest-dev libgmock-dev
    python3 python3-pytest
    postfix
    # What the unpacked exim4 binary links to (see below): installed as ordinary libraries.
    libidn12 libgnutls-dane0 libgnutls30 libdb5.3 libpcre2-8-0 libnsl2 libidn2-0 libcrypt1
)

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    # postfix (a real backend for the integration tests, which run private instances of it):
    # install it without questions and without a system configuration, so Debian's own instance
    # has no /etc/postfix/main.cf and never starts (its init script exits at once without one).
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Exim, a second real backend for the integration tests (tests/integration/exim_instance.py).
# exim4 and postfix are both the mail-transport-agent and cannot be installed together, so the
# Debian packages are only unpacked into a folder of their own (nothing is configured, no
# service starts); the tests run the binary with a private config. The binary needs its
# compiled-in exim user, Debian-exim, to exist.
EXIM_ROOT="${MAILGATE_EXIM_ROOT:-/opt/mailgate-test-tools/exim4}"
if [ ! -x "$EXIM_ROOT/usr/sbin/exim4" ]; then
    download="$(mktemp -d)"
    chmod 755 "$download"
    if getent passwd _apt >/dev/null; then
        $SUDO chown _apt "$download"  # apt downloads as its sandbox user
    fi
    if ! (cd "$download" && $SUDO apt-get download -qq exim4-daemon-light exim4-base); then
        $SUDO apt-get update -qq
        (cd "$download" && $SUDO apt-get download -qq exim4-daemon-light exim4-base)
    fi
    $SUDO mkdir -p "$EXIM_ROOT"
    for deb in "$download"/*.deb; do
        $SUDO dpkg-deb -x "$deb" "$EXIM_ROOT"
    done
    rm -rf "$download"
fi
if ! getent passwd Debian-exim >/dev/null; then
    $SUDO useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin Debian-exim
fi
echo "install-deps: all build and test dependencies are installed"
