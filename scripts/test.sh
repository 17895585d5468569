#!/usr/bin/env bash
# Run the test suite: set up .venv with the dev extras, Chromium for the browser tests,
# PostgreSQL for the team-store tests; then the linters (ruff check, ruff format --check,
# mypy over src and tests: any finding fails the run), then pytest on every core (xdist).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,semantic
bash scripts/setup-browser.sh || echo "warning: Chromium unavailable; browser tests will be skipped" >&2
if pg=$(bash scripts/setup-postgres.sh | tail -n1); then
  export SECPRIO_TEST_PG="${SECPRIO_TEST_PG:-$pg}"
else
  echo "warning: PostgreSQL unavailable; its tests will be skipped" >&2
fi
echo "lint: ruff check, ruff format --check, mypy (src tests)" >&2
.venv/bin/ruff check src tests
.venv/bin/ruff format --check src tests
.venv/bin/mypy src tests
# on every core; a test file's tests stay together, in order, on one worker (module fixtures
# such as the browser tests' demo report are built once)
exec .venv/bin/python -m pytest -q -n auto --dist loadfile "$@"
