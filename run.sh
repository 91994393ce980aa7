#!/usr/bin/env bash
# Set up and start Look-alike under gunicorn on http://127.0.0.1:8000 with the embedded
# defaults: SQLite store and face crops in ./instance, models in ./models.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
.venv/bin/flask --app webapp init-db
exec .venv/bin/gunicorn --config gunicorn.conf.py
