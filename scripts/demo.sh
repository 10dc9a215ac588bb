#!/usr/bin/env bash
# Quick start: set up everything on a fresh Debian machine (Redis, dockerd in Swarm
# mode, the local registry; `scripts/services.sh start` only checks what already
# runs) and run the demo, which keeps running until Ctrl-C.
#
#   bash scripts/demo.sh          # deploy v1 and v2, then keep deploying what is pushed
#   bash scripts/demo.sh --once   # exit after the two deploys
#
# Environment: DEMO_PORT, DEMO_SITE_PORT, DEMO_SERVICE, DEMO_IMAGE (see scripts/demo.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d node_modules ]] || npm ci
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"
exec node --import tsx scripts/demo.ts "$@"
