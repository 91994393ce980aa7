"""The app: its factory, settings, secret key, home page and a real gunicorn start."""

from __future__ import annotations

import stat
import urllib.request
from pathlib import Path

import pytest

from tests.servers import gunicorn
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent


def assert_coming_soon_for_visitors_only(text: str) -> None:
    """Before a model exists visitors get "coming soon": nothing of the admins' work."""
    assert "Coming soon." in text and "the target" in text
    for admin_detail in ("flask", "--app", "crops", "/admin", "label", "extract", "train"):
        assert admin_detail not in text.lower(), admin_detail


def test_home_page_is_coming_soon_before_a_model(client):
    page = client.get("/")
    assert page.status_code == 200
    assert_coming_soon_for_visitors_only(page.get_data(as_text=True))


def test_home_page_never_shows_counts_or_file_names(app, client, runner, face_video):
    result = runner.invoke(args=["extract", str(face_video), "--every", "4", "--seed", "2"])
    assert result.exit_code == 0, result.output
    text = client.get("/").get_data(as_text=True)
    assert_coming_soon_for_visitors_only(text)
    assert "face.avi" not in text  # visitors never see the operator's file names


def test_unknown_page_is_a_404_page_and_api_errors_are_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "Back to the home page" in page.get_data(as_text=True)
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404
    assert "error" in api.get_json()


def test_secret_key_is_generated_once_into_the_instance(tmp_path):
    first = create_app({"INSTANCE": str(tmp_path / "i")})
    key_file = tmp_path / "i" / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 64
    second = create_app({"INSTANCE": str(tmp_path / "i")})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    other = create_app({"INSTANCE": str(tmp_path / "j")})
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"]


def test_settings_defaults_then_instance_file_then_environment(tmp_path, monkeypatch):
    instance = tmp_path / "i"
    instance.mkdir()
    (instance / "config.py").write_text('TARGET_NAME = "Patrick Bateman"\nFACE_SIZE = 100\n')
    monkeypatch.setenv("LOOKALIKE_INSTANCE", str(instance))
    monkeypatch.setenv("LOOKALIKE_MODELS", str(tmp_path / "m"))
    monkeypatch.setenv("LOOKALIKE_FACE_SIZE", "128")
    app = create_app()
    assert app.instance_path == str(instance)
    assert app.config["DATABASE"] == str(instance / "lookalike.sqlite3")
    assert app.config["CROPS_DIR"] == str(instance / "crops")
    assert app.config["MODELS_DIR"] == str(tmp_path / "m")
    assert app.config["TARGET_NAME"] == "Patrick Bateman"  # from instance/config.py
    assert app.config["FACE_SIZE"] == 128  # the environment wins
    assert app.config["CROP_MARGIN"] == 0.25  # default


@pytest.mark.timeout(120)
def test_gunicorn_serves_the_home_page(tmp_path):
    with (
        gunicorn(tmp_path / "instance") as base,
        urllib.request.urlopen(f"{base}/", timeout=5) as response,
    ):
        assert response.status == 200
        assert "Coming soon." in response.read().decode()
    secret = (tmp_path / "instance" / "secret_key").read_text()
    assert len(secret) >= 64
