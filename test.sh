#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite: ./test.sh [pytest args]
# Needs Python 3.11. Browser tests use Debian's chromium (installed here when missing, as
# root); Playwright never downloads a browser of its own. They check every page with
# axe-core, installed from the npm registry into .cache/axe (Debian's npm when missing).
# The store and API tests run twice, on SQLite and on a real PostgreSQL server that the
# tests start themselves (tests/postgres.py) from Debian's postgresql package.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
AXE_VERSION=4.14.1
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "The tests need Debian's ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! grep -qs "\"version\": \"$AXE_VERSION\"" .cache/axe/node_modules/axe-core/package.json; then
  npm install --prefix .cache/axe --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
.venv/bin/ruff check webapp tests benchmarks
.venv/bin/ruff format --check webapp tests benchmarks
exec .venv/bin/python -m pytest "$@"
