#!/usr/bin/env bash
# Installs everything hascreen needs on a fresh Debian 12 machine, as root: the Debian packages for the
# console, the lab's daemons and the tests, then a venv in .venv with hascreen and its test tools.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-dev tmux git
  openssh-server openssh-client mariadb-server mariadb-client keepalived iputils-arping heartbeat
  pacemaker corosync drbd-utils
  nftables iproute2 procps psmisc util-linux acl libpam-runtime sudo
  vim
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's python3 (not a pyenv under /root): other local users must be able to run hascreen too.
PYTHON=/usr/bin/python3
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.hascreen-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  touch "$stamp"
fi
echo "setup: ready ($(.venv/bin/hascreen --version))"
