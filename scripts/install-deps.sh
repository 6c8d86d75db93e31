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
)

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all build and test dependencies are installed"
