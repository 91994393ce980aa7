"""What visitors see: the selfie page, its result, the JSON API and the health check.

Photos are read from the request into memory, scored and forgotten: never written to disk
or to the store, never logged. Every scoring request counts against the client's rate
limit, kept in the store so that all gunicorn workers share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sqlite3
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_file,
)
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.auth import csrf
from webapp.learn.versions import ModelVersion
from webapp.scoring import (
    SELFIE_DETECTOR,
    ActiveModel,
    NoFaceFound,
    PhotoScore,
    face_png,
    photo_with_boxes_jpeg,
    score_photo,
)
from webapp.store import models as model_store
from webapp.store.db import ping
from webapp.store.flask_store import get_db
from webapp.store.rate_limits import hit
from webapp.store.settings import get_target_name
from webapp.store.target_picture import target_picture
from webapp.store.videos import crop_counts
from webapp.vision.faces import FaceDetector
from webapp.vision.images import ImageError, ImageLimits

bp = Blueprint("public", __name__)

NO_FACE_TIPS = (
    "Use a photo where your face is well lit, facing the camera, not too small and not"
    " covered (no sunglasses or mask)."
)


class ScoringRefused(Exception):
    """A scoring request that gets an error message instead of a score."""

    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _active_model() -> ActiveModel:
    return current_app.extensions["lookalike.active_model"]


def _detector() -> FaceDetector:
    return current_app.extensions["lookalike.selfie_detector"]


def _target_name(db: sqlite3.Connection) -> str:
    return get_target_name(db, current_app.config["TARGET_NAME"])


def _client_key() -> str:
    """The client's address as a keyed hash: limits work, addresses are not stored."""
    address = (request.remote_addr or "unknown").encode()
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, address, hashlib.sha256).hexdigest()[:32]


def _check_rate_limit(db: sqlite3.Connection) -> None:
    limit = current_app.config["SCORE_RATE_LIMIT"]
    if not limit:
        return
    decision = hit(db, _client_key(), limit=limit, window=current_app.config["SCORE_RATE_WINDOW"])
    if not decision.allowed:
        raise ScoringRefused(
            f"Too many photos from your address: wait {decision.retry_after} s and try again.",
            429,
            decision.retry_after,
        )


def _score_upload(db: sqlite3.Connection) -> tuple[ModelVersion, PhotoScore]:
    """Check limits, read the ``photo`` field and score it.

    :raise ScoringRefused: with the message and status the visitor gets.
    """
    _check_rate_limit(db)
    version = _active_model().current(db)
    if version is None:
        raise ScoringRefused(
            "Look-alike is not ready yet: no model has been trained. Please come back later.",
            503,
        )
    upload = request.files.get("photo")
    if upload is None:
        raise ScoringRefused("Send the photo in a form field named 'photo'.", 400)
    limits = ImageLimits(
        max_bytes=current_app.config["MAX_PHOTO_BYTES"],
        max_pixels=current_app.config["MAX_PHOTO_PIXELS"],
    )
    data = upload.read(limits.max_bytes + 1)  # one byte more tells "too large"
    try:
        return version, score_photo(version, data, limits, _detector())
    except ImageError as error:
        raise ScoringRefused(str(error), error.status) from None
    except NoFaceFound:
        raise ScoringRefused(f"No face was found in the photo. {NO_FACE_TIPS}", 422) from None


def _with_retry_after(response: Response, refused: ScoringRefused) -> Response:
    if refused.retry_after:
        response.headers["Retry-After"] = str(refused.retry_after)
    return response


@bp.get("/")
def home():
    """The selfie form, or what to do next while no model is ready."""
    db = get_db()
    return _home_page(db)


def _home_page(db: sqlite3.Connection, error: str | None = None, status: int = 200):
    ready = _active_model().current(db) is not None
    page = render_template(
        "home.html",
        ready=ready,
        error=error,
        counts=crop_counts(db),
        target_name=_target_name(db),
        max_photo_mb=current_app.config["MAX_PHOTO_BYTES"] // (1024 * 1024),
    )
    return page, status


@bp.post("/")
def score_page():
    """Score the uploaded selfie and show the result page (or the form with the error)."""
    db = get_db()
    try:
        version, score = _score_upload(db)
    except ScoringRefused as refused:
        page, status = _home_page(db, str(refused), refused.status)
        return _with_retry_after(Response(page, status), refused)
    faces = [
        {
            "number": number,
            "percent": face.percent,
            "image": _data_url("image/png", face_png(score, face)),
        }
        for number, face in enumerate(score.faces, start=1)
    ]
    return render_template(
        "result.html",
        target_name=_target_name(db),
        main=faces[0],
        faces=faces,
        photo=_data_url("image/jpeg", photo_with_boxes_jpeg(score)) if len(faces) > 1 else None,
        has_target_picture=target_picture(db, model_store.get_active_model_version(db)) is not None,
        model_version=version.directory,
    )


def _data_url(kind: str, data: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


@bp.post("/api/score")
@csrf.exempt  # no cookie or session is involved: nothing for a forged request to ride on
def api_score():
    """Score a photo (multipart field ``photo``); JSON in every case.

    :raise 400: no photo field, empty or corrupt photo. 413: too many bytes or pixels.
        415: not JPEG, PNG or WebP. 422: no face. 429: rate limit. 503: no model yet.
    """
    db = get_db()
    try:
        _, score = _score_upload(db)
    except ScoringRefused as refused:
        response = current_app.json.response({"error": str(refused)})
        response.status_code = refused.status
        return _with_retry_after(response, refused)
    return score.as_dict(_target_name(db))


@bp.get("/target-picture")
def target_picture_image():
    """The picture of the target shown beside a visitor's face.

    :raise 404: no crop is labelled target yet.
    """
    db = get_db()
    row = target_picture(db, model_store.get_active_model_version(db))
    if row is None:
        abort(404, "No picture of the target yet.")
    path = current_app.config["CROPS_DIR"] + "/" + row["image_file"]
    return send_file(path, mimetype="image/png", max_age=60)


@bp.get("/healthz")
def healthz():
    """Store reachable and active model: 200 when the store answers, else 503."""
    body: dict[str, Any] = {}
    try:
        db = get_db()
        ping(db)
        body["store"] = "ok"
    except sqlite3.Error as error:
        return {"store": f"unreachable: {error}", "model": None}, 503
    version = _active_model().current(db)
    body["model"] = version.directory if version else None
    if _active_model().problem:
        body["model_problem"] = _active_model().problem
    return body, 200


def _too_large(error: RequestEntityTooLarge):
    """The request body is over MAX_CONTENT_LENGTH: say the photo limit, in words."""
    limit_mb = current_app.config["MAX_PHOTO_BYTES"] / 1e6
    message = f"The photo is too large: the limit is {limit_mb:.0f} MB."
    if request.path.startswith("/api/"):
        return {"error": message}, 413
    if request.endpoint == "public.score_page":
        return _home_page(get_db(), message, 413)
    return render_template("error.html", error=error), 413


def init_app(app: Flask) -> None:
    app.extensions["lookalike.active_model"] = ActiveModel(
        app.config["MODELS_DIR"], app.config["MODEL_CHECK_SECONDS"]
    )
    app.extensions["lookalike.selfie_detector"] = FaceDetector(SELFIE_DETECTOR)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_blueprint(bp)
