"""What visitors see: the selfie page, its result, shared results, the JSON API and the
health check.

Photos are read from the request into memory, scored and forgotten: never written to disk
or to the store, never logged. Every scoring request counts against the client's rate
limit, kept in the store so that all gunicorn workers share it.

A result is shared as a link that carries only the percentage, the number of faces and the
model version, signed with the app's secret key (:func:`share_token`): nobody can make a
link that claims a score the app never gave, and no photo or face is ever in it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadData, URLSafeSerializer
from werkzeug.datastructures import FileStorage

from webapp.context import get_db, get_settings
from webapp.learn.standing import Standing, standing
from webapp.learn.versions import DIRECTORY_NAME, ModelVersion, VersionError
from webapp.operations.active_model import ActiveModel
from webapp.operations.model_files import read_metadata
from webapp.operations.target_picture import target_picture_png
from webapp.store.db import Connection, DatabaseError, OperationalError, ping
from webapp.store.rate_limits import hit
from webapp.web.auth import csrf
from webapp.web.helpers import (
    active_model,
    has_target_picture,
    home_page,
    report_examples,
    target_name,
)

if TYPE_CHECKING:  # scoring's libraries (OpenCV, the model's) load with the first photo
    from webapp.operations.selfies import PhotoScore, SelfieFinders

bp = Blueprint("public", __name__)
log = logging.getLogger(__name__)

# The salt keeps a share link's signature from being valid for anything else signed with
# the same key (a session cookie, a CSRF token), and the other way round.
SHARE_SALT = "lookalike.shared-result.v1"
MAX_SHARED_FACES = 100

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


def _finders() -> SelfieFinders:
    """This process's selfie face finders, made on first use (several threads may each make
    them at once: the first kept are the ones every later request uses)."""
    finders = current_app.extensions.get("lookalike.selfie_finders")
    if finders is None:
        from webapp.operations.selfies import selfie_finders

        finders = current_app.extensions.setdefault("lookalike.selfie_finders", selfie_finders())
    return finders


def _client_key() -> str:
    """The client's address as a keyed hash: limits work, addresses are not stored."""
    address = (request.remote_addr or "unknown").encode()
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, address, hashlib.sha256).hexdigest()[:32]


def _check_rate_limit(db: Connection) -> None:
    limit = get_settings().score_rate_limit
    if not limit:
        return
    try:
        decision = hit(db, _client_key(), limit=limit, window=get_settings().score_rate_window)
    except OperationalError as error:  # a full disk or a read-only store
        # Scoring needs no write: it goes on, unlimited, until the store can count again.
        log.warning("the rate limit is off: the store cannot be written (%s)", error)
        return
    if not decision.allowed:
        raise ScoringRefused(
            f"Too many photos from your address: wait {decision.retry_after} s and try again.",
            429,
            decision.retry_after,
        )


def _chosen_photo() -> FileStorage | None:
    """The ``photo`` the visitor chose. The page's form has two fields of that name (take a
    selfie, choose a photo): the browser sends both, the one not used empty and nameless."""
    uploads = request.files.getlist("photo")
    if not uploads:
        return None
    return next((upload for upload in uploads if upload.filename), uploads[0])


def _score_upload(db: Connection, page: bool = False) -> tuple[ModelVersion, PhotoScore]:
    """Check limits, read the ``photo`` field and score it (``page``: from the page's form,
    where sending no photo means none was chosen).

    :raise ScoringRefused: with the message and status the visitor gets.
    """
    from webapp.operations.selfies import NoFaceFound, score_photo
    from webapp.vision.images import ImageError, ImageLimits

    _check_rate_limit(db)
    version = active_model().current(db)
    if version is None and active_model().problem:
        raise ScoringRefused(
            "Look-alike cannot score photos right now: its model cannot be loaded."
            " Please come back later.",
            503,
        )
    if version is None:
        raise ScoringRefused(
            "Look-alike is not ready yet: no model has been trained. Please come back later.",
            503,
        )
    upload = _chosen_photo()
    if upload is None:
        raise ScoringRefused("Send the photo in a form field named 'photo'.", 400)
    if page and not upload.filename:
        raise ScoringRefused("Choose a photo or take a selfie first.", 400)
    limits = ImageLimits(
        max_bytes=get_settings().max_photo_bytes,
        max_pixels=get_settings().max_photo_pixels,
    )
    data = upload.read(limits.max_bytes + 1)  # one byte more tells "too large"
    try:
        return version, score_photo(version, data, limits, _finders())
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
    return home_page(db)


@bp.post("/")
def score_page():
    """Score the uploaded selfie and show the result page (or the form with the error)."""
    from webapp.operations.selfies import face_png, photo_with_boxes_jpeg

    db = get_db()
    try:
        version, score = _score_upload(db, page=True)
    except ScoringRefused as refused:
        page, status = home_page(db, str(refused), refused.status)
        return _with_retry_after(Response(page, status), refused)
    shown = round(score.main.percent)
    token = share_token(shown, len(score.faces), version.directory)
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
        target_name=target_name(),
        main=faces[0],
        shown_percent=shown,
        faces=faces,
        photo=_data_url("image/jpeg", photo_with_boxes_jpeg(score)) if len(faces) > 1 else None,
        has_target_picture=has_target_picture(db, version),
        model_version=version.directory,
        standing=standing(version.metadata, shown),
        share_url=url_for("public.shared_result", token=token, _external=True),
    )


@dataclass(frozen=True)
class SharedResult:
    """What a share link carries: nothing about the visitor but their score."""

    percent: int
    faces: int
    model_version: str


def _share_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SHARE_SALT)


def share_token(percent: int, faces: int, model_version: str) -> str:
    """The signed part of a share link: the shown percentage, the number of faces scored and
    the model version, nothing else."""
    return _share_serializer().dumps([int(percent), int(faces), model_version])


def read_share_token(token: str) -> SharedResult | None:
    """The result a share link carries, or None when it was not made by this app (forged,
    edited, cut short, or signed with another key)."""
    try:
        data = _share_serializer().loads(token)
    except BadData:
        return None
    if not (isinstance(data, list) and len(data) == 3):
        return None
    percent, faces, version = data
    valid = (
        type(percent) is int
        and 0 <= percent <= 100
        and type(faces) is int
        and 1 <= faces <= MAX_SHARED_FACES
        and isinstance(version, str)
        and DIRECTORY_NAME.fullmatch(version)
    )
    return SharedResult(percent, faces, version) if valid else None


def _standing_of(result: SharedResult) -> Standing | None:
    """Where a shared percentage falls among the movie's other faces, if its model version
    is still on disk or in the store."""
    try:
        metadata = read_metadata(get_db(), get_settings().models_dir, result.model_version)
    except (VersionError, OSError, ValueError):
        return None
    return standing(metadata, result.percent)


@bp.get("/r/<token>")
def shared_result(token: str):
    """A shared result: the percentage and the target's picture, never the visitor's face.

    :raise 404: the link was not made by this app (forged or edited).
    """
    result = read_share_token(token)
    if result is None:
        abort(
            404,
            description="This result link is not valid: it was changed or cut short."
            " Ask for the link again, or try Look-alike yourself.",
        )
    db = get_db()
    return render_template(
        "shared.html",
        result=result,
        target_name=target_name(),
        has_target_picture=has_target_picture(db, active_model().current(db)),
        standing=_standing_of(result),
        share_url=url_for("public.shared_result", token=token, _external=True),
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
    return score.as_dict(target_name())


@bp.get("/target-picture")
def target_picture_image():
    """The picture of the target shown beside a visitor's face: published in the store,
    so that a host without the crops folder shows it too.

    :raise 404: no crop is labelled target yet, or its picture is nowhere.
    """
    db = get_db()
    examples = report_examples(active_model().current(db))
    picture = target_picture_png(db, get_settings().crops_dir, examples)
    if picture is None:
        abort(404, "No picture of the target yet.")
    response = Response(picture, mimetype="image/png")
    response.cache_control.public = True
    response.cache_control.max_age = 60
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/healthz")
def healthz():
    """Store reachable and active model: 200 when the store answers, else 503."""
    body: dict[str, Any] = {}
    try:
        db = get_db()
        ping(db)
        body["store"] = "ok"
    except DatabaseError as error:  # the details (a server's address) go to the log only
        log.error("/healthz: the store is unreachable: %s", error)
        return {"store": "unreachable: see the app's log", "model": None}, 503
    version = active_model().current(db)
    body["model"] = version.directory if version else None
    if active_model().problem:  # a model is active but cannot be used: this host cannot score
        body["model_problem"] = active_model().problem
        return body, 503
    return body, 200


def init_app(app: Flask) -> None:
    """This process's copy of the active model (its face finders come with the first
    photo: :func:`_finders`)."""
    settings = app.extensions["lookalike.settings"]
    app.extensions["lookalike.active_model"] = ActiveModel(
        settings.models_dir, settings.model_check_seconds
    )
