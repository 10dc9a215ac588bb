#!/usr/bin/env bash
# Quick start, part two: set up everything on a fresh Debian machine and run every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
section() { printf '\n==== %s ====\n' "$*"; }

section "npm ci"
npm ci
section "services"
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"
section "typecheck"
npm run typecheck
section "lint"
npm run lint
section "test"
npm test
