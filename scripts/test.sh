#!/usr/bin/env bash
# The project's one test command (README and .ci/run both call it): installs what the tests need
# into .venv, then runs the linter and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check -e ".[dev]"
bash scripts/system-deps.sh
ruff check .
python -m pytest -q "$@"
