"""Starting the app or a command loads no heavy library: ``flask --app webapp --help``, a
gunicorn worker's start and every command pay only for Flask until a page or a command
needs scikit-learn, OpenCV or the face models; on the SQLite default, psycopg never loads.
Checked in a fresh process, not timed (``benchmarks/startup.py`` times it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sklearn", "scipy", "cv2", "onnxruntime", "onnx", "dlib", "joblib", "psycopg")

# What `flask --app webapp --help` runs: the app built by create_app, its commands listed.
STARTUP = """
import json, sys
from flask.cli import main
sys.argv = ["flask", "--app", "webapp", "--help"]
try:
    main()
except SystemExit as end:
    assert not end.code, end.code
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_app_and_its_commands_start_without_heavy_libraries(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "LOOKALIKE_INSTANCE": str(tmp_path / "instance"),
        "LOOKALIKE_MODELS": str(tmp_path / "models"),
    }
    env.pop("LOOKALIKE_DATABASE_URL", None)  # the embedded default: SQLite, no psycopg
    out = subprocess.run(
        [sys.executable, "-c", STARTUP], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    help_text, _, modules = out.stdout.rstrip().rpartition("\n")
    assert "train" in help_text and "extract" in help_text  # the commands were listed
    loaded = set(json.loads(modules))
    assert sorted(loaded.intersection(HEAVY)) == []
