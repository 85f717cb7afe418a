#!/usr/bin/env bash
# The demo: set everything up, bring the HA lab up (as root) and open hascreen on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hascreen lab demo "$@"
