#!/usr/bin/env bash
# Quick start, part one: set up everything on a fresh Debian machine and run the demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d node_modules ]] || npm ci
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"
exec node --import tsx scripts/demo.ts
