#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite: ./test.sh [pytest args]
# Needs Python 3.11. Browser tests use Debian's chromium (installed here when missing, as
# root); Playwright never downloads a browser of its own.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Browser tests need Debian's chromium: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
.venv/bin/ruff check webapp tests benchmarks
.venv/bin/ruff format --check webapp tests benchmarks
exec .venv/bin/python -m pytest "$@"
