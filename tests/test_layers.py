"""The house plan: each folder of ``webapp/`` is one layer and imports point down only.

core (vision, learn) <- store <- operations <- jobs <- web, cli. Read from the source with
``ast``, so a violation fails here even on a code path no other test runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "webapp"
VIEWS = {"public", "admin", "labelling", "browse", "dashboard", "models", "extract"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from webapp.web import auth`` imports the module webapp.web.auth
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def layer_files(*layers: str) -> list[Path]:
    """The files of the folders ``webapp/<layer>/``."""
    return [path for name, path in MODULES.items() if name.split(".")[1:2] in ([x] for x in layers)]


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module_name(path)} imports {name}"
        for path in paths
        for name in sorted(imports_of(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
        and not any(name == a or name.startswith(a + ".") for a in ALLOWED)
    ]


# Werkzeug's password hashing is a plain function, not the web framework.
ALLOWED = {"werkzeug.security"}


def test_every_layer_has_files():
    for layer in ("vision", "learn", "store", "operations", "jobs", "web", "cli"):
        assert layer_files(layer), f"webapp/{layer}/ is empty or missing"


def test_the_core_never_imports_flask_sql_or_upper_layers():
    forbidden = (
        "flask", "werkzeug", "sqlite3", "psycopg", "webapp.store", "webapp.operations",
        "webapp.jobs", "webapp.web", "webapp.cli", "webapp.settings", "webapp.context",
    )  # fmt: skip
    assert offending(layer_files("vision", "learn"), forbidden) == []


def test_the_core_reads_no_environment_variables():
    for path in layer_files("vision", "learn"):
        source = path.read_text()
        for needle in ("os.environ.get", "os.getenv", "os.environ["):
            # vision/__init__ quietens FFmpeg with setdefault before OpenCV loads: a write.
            assert needle not in source, f"{module_name(path)} reads the environment"


def test_the_store_imports_no_flask_and_nothing_above_it():
    forbidden = ("flask", "werkzeug", "webapp.operations", "webapp.jobs", "webapp.web")
    assert offending(layer_files("store"), (*forbidden, "webapp.cli")) == []


def test_operations_and_jobs_never_import_flask_the_web_or_the_cli():
    forbidden = ("flask", "werkzeug", "webapp.web", "webapp.cli", "webapp.context")
    assert offending(layer_files("operations", "jobs"), forbidden) == []
    assert offending(layer_files("operations"), ("webapp.jobs",)) == []


def test_views_never_import_other_views():
    views = [MODULES[f"webapp.web.{name}"] for name in sorted(VIEWS)]
    assert offending(views, tuple(f"webapp.web.{name}" for name in VIEWS)) == []


def test_the_web_and_the_cli_do_not_import_each_other():
    assert offending(layer_files("web"), ("webapp.cli",)) == []
    assert offending(layer_files("cli"), ("webapp.web",)) == []


def test_there_is_no_import_cycle():
    graph = {
        name: {n for n in imports_of(path) if n in MODULES and n != name}
        for name, path in MODULES.items()
    }

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = trail[trail.index(name) :] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for imported in graph[name]:
            # A package's own __init__ importing its modules is how packages work.
            if not imported.startswith(name + "."):
                visit(imported, [*trail, name])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        visit(name, [])


def test_the_worker_and_the_core_start_without_flask():
    """``python -m webapp.jobs``, the worker's loop and the core load neither Flask nor
    Werkzeug."""
    import subprocess
    import sys

    code = (
        "import sys, webapp.jobs.runners, webapp.jobs.__main__, webapp.jobs.worker,"
        " webapp.operations.training, webapp.operations.selfies;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
