#!/usr/bin/env bash
# Installs everything hascreen needs on a fresh Debian 12 machine, as root: the Debian packages for the
# console, the lab's daemons and the tests, then a venv in .venv with hascreen and its test tools, and
# (as root) the link /usr/local/bin/hascreen, so that `hascreen` and `ssh -t HOST hascreen -r` find it.
# Idempotent and quiet when everything is already there.
# Every program the code, the lab, the tests and the scripts call must come from APT_PACKAGES (or from a
# package every Debian has): tests/unit/test_package_coverage.py checks that.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-dev tmux git
  openssh-server openssh-client mariadb-server mariadb-client keepalived iputils-arping heartbeat
  pacemaker pacemaker-cli-utils corosync drbd-utils
  nftables iproute2 procps psmisc util-linux acl libpam-runtime sudo
  vim
  prometheus
  prometheus-node-exporter
  prometheus-mysqld-exporter
  prometheus-hacluster-exporter
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
  # quiet, but on failure the end of apt's and dpkg's output is shown
  apt_log=$(mktemp /tmp/hascreen-setup-apt.XXXXXX)
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$apt_log" 2>&1; then
    echo "setup: apt-get install failed; the end of its output ($apt_log):" >&2
    tail -n 25 "$apt_log" >&2
    exit 1
  fi
  rm -f "$apt_log"
fi

# Debian's python3 (not a pyenv under /root): other local users must be able to run hascreen too.
PYTHON=/usr/bin/python3
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.hascreen-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # quiet (setuptools' notes about editable installs are not for the user), all of it on failure
  pip_log=$(mktemp /tmp/hascreen-setup-pip.XXXXXX)
  if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e '.[test]'; } >"$pip_log" 2>&1; then
    echo "setup: pip install failed; its output ($pip_log):" >&2
    tail -n 40 "$pip_log" >&2
    exit 1
  fi
  rm -f "$pip_log"
  touch "$stamp"
fi
# Colleagues (hascreen -x alice/ops) and the multi-user tests run this checkout's venv as other users.
blocked=$(d=$PWD; while [ "$d" != / ]; do [ "$(( $(stat -c '%#a' "$d") & 1 ))" -eq 1 ] || echo "$d"; d=$(dirname "$d"); done | tail -n 1)
if [ -n "$blocked" ]; then
  echo "setup: warning: other users cannot enter $blocked, so they cannot run this hascreen (and the" \
       "multi-user tests fail); clone the repository where others can read it, e.g. /opt/hascreen" >&2
fi

# On PATH for every login (ssh's default PATH has /usr/local/bin). A hascreen there that is not our link
# (e.g. a system-wide pip install) is left alone.
LINK=/usr/local/bin/hascreen
if [ "$(id -u)" -eq 0 ]; then
  target="$PWD/.venv/bin/hascreen"
  if [ -L "$LINK" ] || [ ! -e "$LINK" ]; then
    [ "$(readlink "$LINK" 2>/dev/null)" = "$target" ] || ln -sfn "$target" "$LINK"
  else
    echo "setup: $LINK exists and is not a link; leaving it" >&2
  fi
fi
echo "setup: ready ($(.venv/bin/hascreen --version))"
