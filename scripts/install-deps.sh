#!/usr/bin/env bash
# Installs what mailgate needs to build and test on Debian 12, from Debian's packages only.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

PACKAGES=(
    build-essential cmake ninja-build ccache pkg-config clang-format
    clang libclang-rt-14-dev
    libboost1.81-dev libyaml-cpp-dev libssl-dev libcrypt-dev libgtest-dev libgmock-dev
    python3 python3-pytest
    postfix
    # What the unpacked exim4 and dovecot binaries link to (see below): ordinary libraries.
    libidn12 libgnutls-dane0 libgnutls30 libdb5.3 libpcre2-8-0 libnsl2 libidn2-0 libcrypt1
    libapparmor1 libcap2 libexttextcat-2.0-0 libicu72 liblua5.4-0 liblz4-1 libsodium23
    libstemmer0d libtirpc3 libunwind8 libwrap0 libzstd1
    util-linux  # unshare(1), for the private Dovecot's mount namespace
    libre2-dev  # the rewrite plugin's regexes
    libc-ares-dev dnsmasq-base  # the dnsbl plugin: c-ares to build, dnsmasq for its tests
    libgmime-3.0-dev  # the spam_score plugin's MIME decoding (it uses RE2 too)
    spamd spamassassin rspamd  # real external scanners for the spam_score plugin's tests
    socat  # bench/: the byte relay that parses nothing, the reference path
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
    # spamd and rspamd would start their system daemons on install: the tests run private
    # instances on loopback instead. A policy-rc.d that denies every start (exit 101) keeps
    # invoke-rc.d and deb-systemd-invoke from starting anything; it is removed afterwards
    # unless the system already had one.
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    status=0
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" || status=$?
    if [ -n "$own_policy" ]; then
        $SUDO rm -f /usr/sbin/policy-rc.d
    fi
    [ "$status" -eq 0 ] || exit "$status"
fi
# Unpacks Debian packages into a folder without installing them: nothing is configured, no
# service starts, nothing else on the system changes.
unpack() {
    local target="$1"
    shift
    local download
    download="$(mktemp -d)"
    chmod 755 "$download"
    if getent passwd _apt >/dev/null; then
        $SUDO chown _apt "$download"  # apt downloads as its sandbox user
    fi
    if ! (cd "$download" && $SUDO apt-get download -qq "$@"); then
        $SUDO apt-get update -qq
        (cd "$download" && $SUDO apt-get download -qq "$@")
    fi
    $SUDO mkdir -p "$target"
    for deb in "$download"/*.deb; do
        $SUDO dpkg-deb -x "$deb" "$target"
    done
    $SUDO rm -rf "$download"
}

# Exim, a second real backend for the integration tests (tests/integration/exim_instance.py).
# exim4 and postfix are both the mail-transport-agent and cannot be installed together, so the
# Debian packages are only unpacked; the tests run the binary with a private config. The binary
# needs its compiled-in exim user, Debian-exim, to exist.
EXIM_ROOT="${MAILGATE_EXIM_ROOT:-/opt/mailgate-test-tools/exim4}"
if [ ! -x "$EXIM_ROOT/usr/sbin/exim4" ]; then
    unpack "$EXIM_ROOT" exim4-daemon-light exim4-base
fi
if ! getent passwd Debian-exim >/dev/null; then
    $SUDO useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin Debian-exim
fi

# Dovecot's LMTP server, a real LMTP backend for the integration tests, and its auth service
# (dovecot-core), which auth.dovecot_socket is tested against
# (tests/integration/dovecot_instance.py): unpacked only, and run in a private mount namespace
# where the unpacked files are overlaid on /usr, so no system user or config is needed.
DOVECOT_ROOT="${MAILGATE_DOVECOT_ROOT:-/opt/mailgate-test-tools/dovecot}"
if [ ! -x "$DOVECOT_ROOT/usr/lib/dovecot/lmtp" ] || [ ! -x "$DOVECOT_ROOT/usr/lib/dovecot/auth" ]; then
    unpack "$DOVECOT_ROOT" dovecot-core dovecot-lmtpd
fi
echo "install-deps: all build and test dependencies are installed"
