#!/usr/bin/env bash
# The README's two commands on a genuinely fresh Debian 12: builds a minimal bookworm root with debootstrap
# (variant minbase: only Priority required), clones this repository's current branch to its /opt/hascreen
# (committed work only), runs scripts/setup.sh there, then a smoke test (hascreen --version, lab up, health
# and run with no flags from /, lab down) and, with --full, scripts/test.sh. Prints the wall time of every
# phase. Each phase runs in a mount namespace whose root is the new system (pivot_root, not a bare chroot:
# the lab enters its nodes' mount namespaces with nsenter, which would leave a chroot).
#
#   bash scripts/fresh-install-check.sh [--full] [--work DIR] [--keep] [-- PYTEST ARGS]
#   bash scripts/fresh-install-check.sh --base-only     # only build the cached debootstrap (no lock needed)
#
# As root, on Debian 12. The mirror is the one this machine's apt uses (read from /etc/apt/sources.list and
# sources.list.d at run time). The pristine debootstrap is cached in WORK/base (delete it to rebuild); every
# run copies it to WORK/root and removes that afterwards (--keep leaves it for inspection). The lab inside
# the chroot uses the same kernel-global namespace and veth names as this machine's lab, so the phases
# that run it (the smoke test, then with --full `pytest -m lab`) hold this machine's /run/hascreen-lab.lock
# (waiting at most $HASCREEN_LAB_LOCK_WAIT s); setup and, with --full, `pytest -m "not lab"` run first,
# without it. --full runs scripts/test.sh as those two halves.
set -euo pipefail

WORK=/var/tmp/hascreen-fresh
FULL=0
KEEP=0
BASE_ONLY=0
PYTEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --full) FULL=1 ;;
    --keep) KEEP=1 ;;
    --base-only) BASE_ONLY=1 ;;
    --work) WORK=$2; shift ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-install-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
BRANCH=$(git -C "$REPO" rev-parse --abbrev-ref HEAD)
BASE=$WORK/base
ROOT=$WORK/root
LOCK=/run/hascreen-lab.lock
LOCK_WAIT=${HASCREEN_LAB_LOCK_WAIT:-900}
SUITE=bookworm

say() { printf 'fresh-install-check: %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts, the lab)"
[ -r /etc/os-release ] && . /etc/os-release
[ "${VERSION_CODENAME:-}" = "$SUITE" ] || say "warning: this machine is not Debian 12 (${PRETTY_NAME:-unknown})"

# The first deb URI of this machine's apt sources that serves bookworm main (one-line and deb822 formats).
debian_mirror() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$file" ] || continue
    awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
         if ($(i + 1) == suite) { for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit } } }' "$file"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -r "$file" ] || continue
    awk -v suite="$SUITE" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && (" " comps " ") ~ / main /) { split(uris, u, " "); print u[1]; found = 1 }
                         types = suites = comps = uris = "" }
      /^[ \t]*$/ { flush(); if (found) exit; next }
      /^[ \t]*#/ { next }
      { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
        if (key == "types") types = $0; else if (key == "suites") suites = $0
        else if (key == "components") comps = $0; else if (key == "uris") uris = $0 }
      END { if (!found) flush() }' "$file"
  done
}

MIRROR=$(debian_mirror | head -n 1)
[ -n "$MIRROR" ] || die "no apt source for $SUITE main in /etc/apt/sources.list{,.d}"

if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# ---- mounts: bounded, never followed by rm while anything is still mounted under ROOT -------------------
mounted_under_root() { awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts; }

# processes whose root directory is the new system (pivoted or chrooted): what the phases left running
stop_chroot_processes() {
  local pid round root_id
  root_id=$(stat -c '%d:%i' "$ROOT")
  for round in 1 2 3; do
    local left=0
    for pid in /proc/[0-9]*; do
      [ "$(stat -L -c '%d:%i' "$pid/root" 2>/dev/null)" = "$root_id" ] || continue
      left=1
      kill -"$([ "$round" -lt 3 ] && echo TERM || echo KILL)" "${pid#/proc/}" 2>/dev/null || true
    done
    [ "$left" -eq 0 ] && return 0
    sleep 2
  done
}

unmount_root() {
  local attempt
  [ -d "$ROOT" ] || return 0
  stop_chroot_processes
  for attempt in 1 2 3 4 5; do
    [ -z "$(mounted_under_root)" ] && return 0
    mounted_under_root | sort -r | while read -r mnt; do umount "$mnt" 2>/dev/null || true; done
    sleep 1
  done
  mounted_under_root | sort -r | while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
  [ -z "$(mounted_under_root)" ] || { say "still mounted under $ROOT:"; mounted_under_root; return 1; }
}

cleanup() {
  local status=$?
  if unmount_root; then
    if [ "$KEEP" -eq 0 ] && [ -d "$ROOT" ]; then rm -rf --one-file-system "$ROOT"; fi
  else
    say "left $ROOT in place: something is still mounted there"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { echo $(( $(date +%s) - $1 )); }
declare -A TIMES

# ---- the root --------------------------------------------------------------------------------------------
mkdir -p "$WORK"
unmount_root
rm -rf --one-file-system "$ROOT"
if [ ! -f "$BASE/.hascreen-debootstrap-ok" ]; then
  say "debootstrap --variant=minbase $SUITE into $BASE (the mirror of this machine's apt)"
  rm -rf --one-file-system "$BASE"
  began=$(date +%s)
  debootstrap --variant=minbase "$SUITE" "$BASE" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $WORK/debootstrap.log"
  touch "$BASE/.hascreen-debootstrap-ok"
  TIMES[debootstrap]=$(elapsed "$began")
  say "debootstrap took ${TIMES[debootstrap]} s"
else
  say "reusing the pristine root in $BASE"
fi
[ "$BASE_ONLY" -eq 1 ] && exit 0
cp -a "$BASE" "$ROOT"
rm -f "$ROOT/.hascreen-debootstrap-ok"
# as on any chroot: apt must not start daemons (they would share this machine's network)
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
# The chroot reaches the network as this machine does: its resolver and, when this machine points TLS
# clients at a CA bundle of its own (e.g. behind a TLS-inspecting proxy), the same bundle for pip.
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
TLS_ENV=()
for var in SSL_CERT_FILE REQUESTS_CA_BUNDLE PIP_CERT; do
  file=${!var:-}
  { [ -n "$file" ] && [ -r "$file" ]; } || continue
  install -D -m 644 "$file" "$ROOT/etc/ssl/host-ca/$var.pem"
  TLS_ENV+=("$var=/etc/ssl/host-ca/$var.pem")
done
# where the README says to clone it: other users (the multi-user tests) run its venv too
git clone -q --branch "$BRANCH" --single-branch "$REPO" "$ROOT/opt/hascreen"
say "cloned $BRANCH at $(git -C "$ROOT/opt/hascreen" log -1 --format='%h %s' | cut -c1-80)"

mount --bind "$ROOT" "$ROOT"  # / must be a mount point: `ip netns exec` remounts it (--make-rslave)
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys"
mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev"
mountpoint -q "$ROOT/dev/pts" || mount -t devpts devpts "$ROOT/dev/pts"
mount -t tmpfs -o mode=755 tmpfs "$ROOT/run"
# what boot makes in /run (tmpfiles): /var/lock points to /run/lock, and dpkg needs it to be a directory
install -d -m 1777 "$ROOT/run/lock"

# ---- inside: setup, smoke test, the test suite -----------------------------------------------------------
# Only what runs the lab holds this machine's lab lock: setup and the tests that do not use the lab
# (pytest -m "not lab") run without it.
cat >"$ROOT/root/fresh-check-inside.sh" <<'INSIDE'
set -uo pipefail
cd /opt/hascreen
step() { "$@" || { echo "smoke: '$*' failed (exit $?)"; exit 1; }; }
smoke() (
  cd /
  step hascreen --version
  step hascreen lab up
  step hascreen health                            # no flags: the lab's hosts.yaml is found
  err=$(hascreen health --json 2>&1 >/dev/null)   # nothing on stderr
  [ -z "$err" ] || { echo "smoke: stderr of health --json: $err"; exit 1; }
  step hascreen run failover --cluster db --dry-run
  step hascreen lab down
)
what=$1; shift
case "$what" in
  setup) bash scripts/setup.sh ;;
  smoke) smoke || { hascreen lab down >/dev/null 2>&1; exit 1; } ;;
  tests-nolab) bash scripts/test.sh -q -m "not lab" "$@" ;;
  tests-lab) bash scripts/test.sh -q -m lab "$@" ;;
esac
INSIDE

: >"$WORK/run.log"
STATUS=0
# in_chroot PHASE [PYTEST ARGS]: one phase in the chroot, its time and exit code in the summary. The lock's
# descriptor (9) is not inherited: daemons the phase leaves behind must not keep the lab lock.
in_chroot() {
  local name=$1 began rc
  shift
  say "phase $name"
  began=$(date +%s)
  set +e
  unshare --mount --propagation private -- /bin/sh -ec '
      cd "$1"; shift; mkdir -p .host-root; pivot_root . .host-root
      cd /; umount -l /.host-root; rmdir /.host-root; exec "$@"' pivot "$ROOT" \
    /usr/bin/env -i HOME=/root TERM=xterm-256color LANG=C.UTF-8 "${TLS_ENV[@]}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash /root/fresh-check-inside.sh "$name" "$@" 9>&- 2>&1 | tee "$WORK/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  cat "$WORK/$name.log" >>"$WORK/run.log"
  local summary
  summary=$(grep -aE '^=* ?[0-9]+ (passed|failed|skipped|deselected|errors?)' "$WORK/$name.log" | tail -n 1 \
            | tr -d '=' | sed 's/^ *//; s/ *$//')
  SUMMARY+=("  $name: exit $rc, $(elapsed "$began") s${summary:+; pytest: $summary}")
  [ "$rc" -eq 0 ] || STATUS=1
  return "$rc"
}
SUMMARY=()
began_all=$(date +%s)
if in_chroot setup; then
  [ "$FULL" -eq 0 ] || in_chroot tests-nolab "${PYTEST_ARGS[@]}" || true
  # the phases that run the lab, under one hold of the lock
  exec 9>>"$LOCK"
  say "waiting for $LOCK (at most $LOCK_WAIT s)"
  if flock -w "$LOCK_WAIT" 9; then
    if in_chroot smoke && [ "$FULL" -eq 1 ]; then
      in_chroot tests-lab "${PYTEST_ARGS[@]}" || true
    fi
    flock -u 9
  else
    SUMMARY+=("  smoke: not run: no hold of $LOCK (busy for $LOCK_WAIT s, or interrupted)")
    STATUS=1
  fi
  exec 9>&-
fi

say "summary (logs in $WORK)"
[ -n "${TIMES[debootstrap]:-}" ] && say "  debootstrap: ${TIMES[debootstrap]} s"
for line in "${SUMMARY[@]}"; do say "$line"; done
say "  total in the chroot: $(elapsed "$began_all") s, exit $STATUS"
exit "$STATUS"
