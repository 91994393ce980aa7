"""What visitors see: the home page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from webapp.store.flask_store import get_db
from webapp.store.settings import get_target_name
from webapp.store.videos import crop_counts, list_videos

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    """The home page: what the app is for and what to do next."""
    db = get_db()
    return render_template(
        "home.html",
        counts=crop_counts(db),
        videos=list_videos(db),
        target_name=get_target_name(db, current_app.config["TARGET_NAME"]),
    )
