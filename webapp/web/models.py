"""Model versions: the list with their scores, activation (rollback), each version's
report, and its pictures (mean face, eigenfaces, confusion matrix).

Pictures are made from the version's own files, found by version id through the store:
no path ever comes from the request, and only directories inside the models folder are
loaded (:func:`webapp.learn.versions.version_path` checks it). A version this host's
models folder lacks is written out from the store first
(:mod:`webapp.operations.model_files`).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)

from webapp.context import get_db, get_settings
from webapp.learn.versions import VersionError, check_compatible
from webapp.operations.model_files import load_version, read_metadata
from webapp.operations.target_picture import publish_target_picture, version_examples
from webapp.store import models as model_store
from webapp.web import auth
from webapp.web.helpers import report_context

bp = Blueprint("versions", __name__, url_prefix="/admin/models")
auth.require_login(bp)

EIGENFACES_SHOWN = 8


def get_version_or_404(version_id: int) -> dict[str, Any]:
    version = model_store.get_model_version(get_db(), version_id)
    if version is None:
        abort(404, description=f"There is no model version {version_id}.")
    return version


@bp.get("/")
def versions():
    """Every model version with its scores, the active one marked, each to activate."""
    return render_template(
        "admin/versions.html", versions=model_store.list_model_versions(get_db())
    )


@bp.post("/<int:version_id>/activate")
def activate(version_id: int):
    """Make a version the one visitors are scored with (also a rollback), atomically.

    A version whose files are missing or were written by an incompatible scikit-learn
    is refused: visitors would get errors.

    :raise 404: no such version. :raise 409: its files cannot be used.
    """
    version, db = get_version_or_404(version_id), get_db()
    try:
        check_compatible(read_metadata(db, get_settings().models_dir, version["directory"]))
    except VersionError as error:
        abort(409, description=f"Model version {version_id} cannot be activated: {error}")
    model_store.activate_model_version(db, version_id)
    # Hosts without the crops folder show the target's picture from the store.
    publish_target_picture(db, get_settings().crops_dir, version_examples(version))
    flash(f"Model version {version_id} is now active: visitors are scored with it.")
    return redirect(url_for("versions.versions"))


@bp.get("/<int:version_id>")
def report(version_id: int):
    """A version's report: scores per class, confusion matrix, search, data, pictures.

    :raise 404: no such version.
    """
    version = get_version_or_404(version_id)
    return render_template("admin/version.html", **report_context(version))


def _loaded_pipeline(version: dict[str, Any]):
    from webapp.learn import pictures

    try:
        loaded = load_version(get_db(), get_settings().models_dir, version["directory"])
    except VersionError as error:
        abort(404, description=str(error))
    if not pictures.has_eigenfaces(loaded.pipeline):
        abort(404, description=f"Model version {version['id']} has no eigenfaces.")
    return loaded.pipeline


def _png(data: bytes) -> Response:
    response = Response(data, mimetype="image/png")
    # A version never changes once written: its pictures can be kept (by this admin only).
    response.cache_control.private = True
    response.cache_control.max_age = 86400
    return response


@bp.get("/<int:version_id>/mean-face.png")
def mean_face(version_id: int):
    """The mean of the training faces, as the model saw them.

    :raise 404: no such version, its files are gone, or it has no eigenfaces.
    """
    from webapp.learn import pictures

    return _png(pictures.mean_face_png(_loaded_pipeline(get_version_or_404(version_id))))


@bp.get("/<int:version_id>/eigenfaces/<int:number>.png")
def eigenface(version_id: int, number: int):
    """Eigenface ``number`` (0 the strongest) of a version.

    :raise 404: no such version or eigenface.
    """
    from webapp.learn import pictures

    pipeline = _loaded_pipeline(get_version_or_404(version_id))
    count = pipeline.named_steps["pca"].n_components_
    if not 0 <= number < min(count, EIGENFACES_SHOWN):
        abort(404, description=f"Model version {version_id} shows no eigenface {number}.")
    return _png(pictures.eigenface_pngs(pipeline, number + 1)[number])


@bp.get("/<int:version_id>/confusion.png")
def confusion(version_id: int):
    """The confusion matrix as a picture (rows: true label, columns: predicted).

    :raise 404: no such version.
    """
    from webapp.learn import pictures

    return _png(pictures.confusion_png(get_version_or_404(version_id)["metrics"]))
