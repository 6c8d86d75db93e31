#!/usr/bin/env bash
# As root on a Debian 12 machine: builds the .deb from build/ (or $1), installs it for real with
# apt-get, checks the installed config and unit, then purges it. Called by .ci/run after
# scripts/test.sh; the unprivileged part (unpack and check) is the ctest integration.test_package.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"

if [ "$(id -u)" -ne 0 ]; then
    echo "test-package: needs root (it installs and removes the mailgate package)" >&2
    exit 1
fi
if dpkg-query -W -f='${Status}' mailgate 2>/dev/null | grep -q "install ok installed"; then
    echo "test-package: a mailgate package is already installed; not touching it" >&2
    exit 1
fi

WORK="$(mktemp -d)"
cleanup() {
    if dpkg-query -W mailgate >/dev/null 2>&1; then
        dpkg --purge mailgate >/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== package: cpack"
cpack -G DEB -B "$WORK" --config "$BUILD_DIR/CPackConfig.cmake" >"$WORK/cpack.log" ||
    { cat "$WORK/cpack.log"; exit 1; }
DEB="$(ls "$WORK"/mailgate_*.deb)"

echo "== package: install $(basename "$DEB")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$DEB" >/dev/null
test -x /usr/bin/mailgate
test -f /usr/lib/mailgate/plugins/relay_access.so
test -f /usr/lib/mailgate/plugins/spam_score.so
test -f /etc/mailgate/rules/spam_score.yaml
getent passwd mailgate >/dev/null
test "$(stat -c %U /var/lib/mailgate)" = mailgate

echo "== package: the installed mailgate checks the installed config"
/usr/bin/mailgate --check-config /etc/mailgate/mailgate.yaml
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /lib/systemd/system/mailgate.service
fi

echo "== package: remove and purge"
dpkg -r mailgate >/dev/null
test ! -e /usr/bin/mailgate
test -f /etc/mailgate/mailgate.yaml  # a conffile stays until purge
dpkg --purge mailgate >/dev/null
test ! -e /etc/mailgate/mailgate.yaml
echo "test-package: ok"
