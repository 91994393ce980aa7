"""How long does ``flask --app webapp --help`` take, and what does it load?

    .venv/bin/python benchmarks/startup.py [--repeat 5] [--json]

Times, as wall time of fresh processes (median of ``--repeat``, the variants interleaved so
that a busy machine slows them alike):
- ``flask --app webapp --help``: the app built, its commands listed;
- the same with the scoring and training libraries imported first (what every start paid
  when the app loaded them with itself);
- a bare ``python -c pass`` and ``import flask.cli``: the floor under the command.
Also prints which heavy libraries the command loaded (none is the point). Needs no data:
the app runs on a scratch instance folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "sklearn", "scipy", "cv2", "onnxruntime", "onnx", "dlib", "joblib", "numpy", "PIL", "psycopg"
)  # fmt: skip
# What `flask --app webapp --help` runs, optionally after importing ``PRELOAD``.
COMMAND = """
import sys
{preload}
from flask.cli import main
sys.argv = ["flask", "--app", "webapp", "--help"]
try:
    main()
except SystemExit as end:
    assert not end.code, end.code
"""
# The modules the app used to import when it started: scoring, training, pictures, import.
PRELOAD = (
    "import webapp.operations.selfies, webapp.operations.training, webapp.operations.folders,"
    " webapp.operations.evaluation, webapp.learn.pictures"
)
LOADED = """
import json
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def variants() -> dict[str, list[str]]:
    python = sys.executable
    flask = Path(python).with_name("flask")  # the environment's own command, when installed
    command = [str(flask)] if flask.is_file() else [python, "-m", "flask"]
    return {
        "flask --app webapp --help": [*command, "--app", "webapp", "--help"],
        "the same, scoring and training libraries imported first": [
            python,
            "-c",
            COMMAND.format(preload=PRELOAD),
        ],
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import flask.cli'": [python, "-c", "import flask.cli"],
    }


def run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "LOOKALIKE_INSTANCE": str(Path(scratch) / "instance"),
            "LOOKALIKE_MODELS": str(Path(scratch) / "models"),
        }
        commands = variants()
        for command in commands.values():  # warm the file cache and the store's creation
            run(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(options.repeat):
            for name, command in commands.items():
                times[name].append(run(command, env))
        listed = subprocess.run(
            [sys.executable, "-c", COMMAND.format(preload="") + LOADED],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    loaded = set(json.loads(listed.rstrip().rpartition("\n")[2]))
    report = {
        "repeat": options.repeat,
        "median_seconds": {name: round(statistics.median(t), 3) for name, t in times.items()},
        "heavy_libraries_loaded": sorted(loaded.intersection(HEAVY)),
        "cores": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    if options.json:
        print(json.dumps(report))
        return 0
    for name, seconds in report["median_seconds"].items():
        print(f"{name:>58}: {seconds:.2f} s")
    heavy = ", ".join(report["heavy_libraries_loaded"]) or "none"
    print(f"heavy libraries loaded by `flask --app webapp --help`: {heavy} (of {', '.join(HEAVY)})")
    load = ", ".join(str(x) for x in report["load_average"])
    print(f"machine: {report['cores']} cores, load average {load} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
