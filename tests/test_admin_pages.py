"""Rough edges of the admin pages: commands that work as printed, the extraction form's
number fields."""

from __future__ import annotations

import re

import pytest

from tests.conftest import create_admin, log_in
from webapp import PROJECT_ROOT

BARE_FLASK = re.compile(r"(?<!\.venv/bin/)\bflask --app\b")


@pytest.fixture
def admin(make_app):
    app = make_app(WTF_CSRF_ENABLED=False)
    create_admin(app)
    client = app.test_client()
    assert log_in(client).status_code == 302
    return app, client


def test_every_command_a_page_names_works_as_printed():
    """A hint names `.venv/bin/flask --app webapp ...` (what ./run.sh installs), never a
    bare `flask`, which is not on the PATH of a fresh install."""
    for template in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        assert not BARE_FLASK.search(text), template.name
    for module in sorted((PROJECT_ROOT / "webapp").rglob("*.py")):
        for line in module.read_text().splitlines():
            if "flask --app" in line and not line.strip().startswith(('"""', "#", "``")):
                assert not BARE_FLASK.search(line), f"{module.name}: {line.strip()}"


def test_the_pages_name_working_commands(make_app, tmp_path):
    app = make_app(WTF_CSRF_ENABLED=False)
    login = app.test_client().get("/admin/login").get_data(as_text=True)
    assert "<code>.venv/bin/flask --app webapp create-admin NAME</code>" in login
    photos = tmp_path / "photos"
    for folder in ("0", "1"):
        (photos / folder).mkdir(parents=True)
    none_yet = app.test_cli_runner().invoke(args=["evaluate", str(photos)])
    assert "`.venv/bin/flask --app webapp train`" in none_yet.output
    create_admin(app)
    client = app.test_client()
    log_in(client)
    index = client.get("/admin/").get_data(as_text=True)
    assert "<code>.venv/bin/flask --app webapp extract MOVIE.mp4</code>" in index
    assert "<code>.venv/bin/flask --app webapp import-folders DIR</code>" in index


def test_the_extraction_form_steps_whole_numbers_and_hundredths(admin):
    _, client = admin
    page = client.get("/admin/extract").get_data(as_text=True)
    assert 'step="None"' not in page
    for name in ("offset", "every", "cap", "seed", "size"):
        (tag,) = set(re.findall(rf'<input[^>]*name="{name}"[^>]*>', page))
        assert 'type="number"' in tag and 'step="1"' in tag, tag
    (tag,) = set(re.findall(r'<input[^>]*name="min_face"[^>]*>', page))
    assert 'step="0.01"' in tag and 'value="0.12"' in tag
