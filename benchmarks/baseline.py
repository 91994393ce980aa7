"""Face embeddings' speed targets, against the revision they were set on, measured here.

The selfie path now and as it was at that revision, both on this machine, in turns.

    .venv/bin/python benchmarks/baseline.py [--turns 2] [--json]

The targets (a 720p selfie in at most 20 ms, a 12 MP one in 40 ms, at least 60 requests/s
under gunicorn) were set beside what that revision measured then, on a quieter machine:
79 ms, 93 ms and 21 requests/s. A shared machine is slower or faster from one day to the
next, so this runs, in turns, that revision's own ``benchmarks/score.py --extractor
face-embeddings`` (in a temporary ``git worktree`` of this clone, with this interpreter)
and this tree's ``benchmarks/score.py``, and prints for each figure both measurements, the
speed-up between them, and the speed-up the target asks for (79 / 20 = 3.95x, ...),
beside the target as a plain number.

Needs the clone's git history, ../shared/data and dlib's wheel (that revision ran the
ResNet on dlib's runtime). Each turn takes about four minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
# The revision face embeddings' speed targets were set on, and what it measured then.
REVISION = "47b4f84~1"
THEN = {"720p p50 ms": 79.0, "12MP p50 ms": 93.0, "gunicorn requests/s": 21.0}
TARGETS = {"720p p50 ms": 20.0, "12MP p50 ms": 40.0, "gunicorn requests/s": 60.0}
# This tree's set-up the targets are for (benchmarks/score.py).
MEASURED = "embeddings, onnxruntime"


def run_json(command: list[str], cwd: Path) -> dict:
    """The last line of a benchmark's standard output, as JSON."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} in {cwd} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def figures(in_process: dict, load: dict) -> dict[str, float]:
    """The figures the targets are for, from one set-up's part of a score.py report."""
    return {
        "720p p50 ms": in_process["720p"]["p50_ms"],
        "12MP p50 ms": in_process["12MP"]["p50_ms"],
        "gunicorn requests/s": load["requests_per_s"],
        "gunicorn errors": load["errors"],
    }


def revision_figures(tree: Path) -> dict[str, float]:
    """The revision's score.py measures one set-up: the model it trains."""
    report = run_json(
        [sys.executable, "benchmarks/score.py", "--extractor", "face-embeddings", "--json"], tree
    )
    return figures(report["in_process"], report["gunicorn_720p"])


def current_figures() -> dict[str, float]:
    report = run_json([sys.executable, "benchmarks/score.py", "--json"], ROOT)
    if MEASURED not in report["in_process"]:
        sys.exit("benchmarks/score.py measured no face embeddings: is dlib installed?")
    return figures(report["in_process"][MEASURED], report["gunicorn_720p"][MEASURED])


def compare(before: list[dict], now: list[dict]) -> list[dict]:
    """Per figure: the medians of the turns, the speed-up here and the one asked."""
    rows = []
    for figure, target in TARGETS.items():
        was = statistics.median(turn[figure] for turn in before)
        is_now = statistics.median(turn[figure] for turn in now)
        if figure.endswith("ms"):
            here, asked, plain_met = was / is_now, THEN[figure] / target, is_now <= target
        else:
            here, asked, plain_met = is_now / was, target / THEN[figure], is_now >= target
        rows.append(
            {
                "figure": figure,
                "revision_then": THEN[figure],
                "target": target,
                "revision_here": [turn[figure] for turn in before],
                "now_here": [turn[figure] for turn in now],
                "speed_up_here": round(here, 2),
                "speed_up_asked": round(asked, 2),
                "met_by_speed_up": here >= asked,
                "met_as_plain_number": plain_met,
            }
        )
    errors = sum(turn["gunicorn errors"] for turn in now)
    rows.append(
        {"figure": "gunicorn errors", "now_here": errors, "met_as_plain_number": not errors}
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=2, help="runs of each, taking turns")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"The development data is missing: expected it at {DATA}. Nothing was measured.")
    known = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "-q", f"{REVISION}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if known.returncode != 0:
        sys.exit(
            f"This clone does not hold revision {REVISION} (a shallow clone or an export?):"
            " fetch the full history first. Nothing was measured."
        )
    with tempfile.TemporaryDirectory() as tmp:
        # The revision's benchmarks read ../shared/data beside their own tree.
        os.symlink(DATA.parent, Path(tmp) / "shared")
        tree = Path(tmp) / "revision"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), REVISION],
            check=True,
        )
        try:
            before, now = [], []
            for turn in range(options.turns):
                print(f"turn {turn + 1}: {REVISION} ...", file=sys.stderr)
                before.append(revision_figures(tree))
                print(f"turn {turn + 1}: this tree ...", file=sys.stderr)
                now.append(current_figures())
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
            )
    rows = compare(before, now)
    load = [round(x, 1) for x in os.getloadavg()]
    if options.json:
        print(json.dumps({"revision": REVISION, "rows": rows, "load_average": load}))
        return
    print(f"{REVISION} and this tree, {options.turns} turns each, here and now")
    print(
        f"{'figure':<20} {'rev then':>8} {'rev here':>16} {'now here':>16} {'speed-up':>8}"
        f" {'asked':>6}  target"
    )
    for row in rows[:-1]:
        here = "/".join(f"{x:g}" for x in row["revision_here"])
        now_here = "/".join(f"{x:g}" for x in row["now_here"])
        print(
            f"{row['figure']:<20} {row['revision_then']:>8g} {here:>16} {now_here:>16}"
            f" {row['speed_up_here']:>7.2f}x {row['speed_up_asked']:>5.2f}x"
            f"  {row['target']:g}: {'met' if row['met_as_plain_number'] else 'NOT met'} as a"
            f" number, {'met' if row['met_by_speed_up'] else 'NOT met'} as a speed-up"
        )
    print(f"gunicorn errors now: {rows[-1]['now_here']}")
    print(f"machine: {os.cpu_count()} cores, load average {load} at the end")


if __name__ == "__main__":
    main()
