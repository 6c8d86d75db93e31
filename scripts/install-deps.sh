#!/usr/bin/env bash
# Installs what mailgate needs to build and test on Debian 12, from Debian's packages only.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

PACKAGES=(
    build-essential cmake ninja-build ccache pkg-config clang-format
    libboost1.81-dev libyaml-cpp-dev libssl-dev libcrypt-dev libgtest-dev libgmock-dev
    python3 python3-pytest
    postfix
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
echo "install-deps: all build and test dependencies are installed"
