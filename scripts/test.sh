#!/usr/bin/env bash
# Run the test suite: set up .venv with the dev extras, Chromium for the browser tests, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,semantic
bash scripts/setup-browser.sh || echo "warning: Chromium unavailable; browser tests will be skipped" >&2
exec .venv/bin/python -m pytest -q "$@"
