#!/usr/bin/env bash
# The test command: set everything up, then lint, check the layers and run every test.
# Integration tests build the lab in network namespaces and need root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== import-linter"
.venv/bin/lint-imports
echo "== pytest"
exec .venv/bin/pytest -p no:cacheprovider "$@"
