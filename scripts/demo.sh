#!/usr/bin/env bash
# Run secprio's main job on the bundled OTS pack; the report lands in ./secprio-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh semantic
exec .venv/bin/secprio demo --out "${1:-secprio-demo}"
