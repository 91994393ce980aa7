"""The labelling page, one crop at a time, and the JSON API its script calls.

The page works with plain form posts (JavaScript off); ``static/label.js`` turns it into
a one-key-per-decision page that saves through ``/api/admin/...`` and keeps the next crops
preloaded. Both go through the same store functions.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from webapp.context import get_db
from webapp.store import labels
from webapp.store.crop_scores import score_coverage
from webapp.web import auth
from webapp.web.helpers import (
    LABEL_NAMES,
    active_model,
    admin_id,
    claim_seconds,
    crop_json,
    get_crop_or_404,
    has_target_picture,
    progress_json,
    store_int,
    target_name,
)

bp = Blueprint("labelling", __name__, url_prefix="/admin")
api = Blueprint("labelling_api", __name__, url_prefix="/api/admin")
auth.require_login(bp)
auth.require_login(api)

# (decision, key shown on the page, button text); label.js maps the same keys.
DECISIONS = [
    ("target", "1", "Target"),
    ("not_target", "0", "Not target"),
    ("not_face", "x", "Not a face"),
    ("skip", "space", "Skip"),
    ("undo", "backspace", "Undo"),
]
MAX_EXCLUDE = 50


def queue_order() -> str:
    """The queue order this admin chose (``?order=`` on the page, kept in the session):
    ``store`` or ``uncertain`` (the active model's least sure crops first).

    :raise 400: an unknown order.
    """
    order = request.args.get("order")
    if order is not None:
        if order not in labels.QUEUE_ORDERS:
            abort(400, description=f"order must be one of {', '.join(labels.QUEUE_ORDERS)}.")
        session["label_order"] = order
    chosen = session.get("label_order")
    return chosen if chosen in labels.QUEUE_ORDERS else "store"


@bp.get("/label")
def label_page():
    """The labelling page: the next crop for this admin, or ``?crop=ID`` to show one.

    :raise 404: ``crop`` names no crop.
    """
    db = get_db()
    crop_id = request.args.get("crop", type=store_int)
    if crop_id is not None:
        row = get_crop_or_404(crop_id)
    elif "crop" in request.args:
        abort(404, description="A crop id is a whole number.")
    else:
        row = labels.claim_next_crop(
            db, admin_id(), claim_seconds=claim_seconds(), order=queue_order()
        )
    return render_template(
        "admin/label.html",
        crop=crop_json(row) if row else None,
        progress=progress_json(db),
        decisions=DECISIONS,
        label_names=LABEL_NAMES,
        target_name=target_name(),
        has_target_picture=has_target_picture(db, active_model().current(db)),
        queue_order=queue_order(),
        coverage=score_coverage(db),
    )


@bp.post("/label")
def label_form():
    """A decision from the page with JavaScript off: save it, then show the next crop.

    :raise 400: unknown decision or missing crop id. :raise 404: no such crop.
    """
    decision = request.form.get("decision", "")
    db, user_id = get_db(), admin_id()
    if decision == "undo":
        undone = labels.undo_last(db, user_id, claim_seconds=claim_seconds())
        if undone is None:
            flash("Nothing left to undo.")
            return redirect(url_for("labelling.label_page"))
        flash(_undo_message(undone))
        return redirect(url_for("labelling.label_page", crop=undone.crop_id))
    crop_id = request.form.get("crop_id", type=store_int)
    if crop_id is None:
        abort(400, description="The form did not say which crop.")
    try:
        if decision == "skip":
            labels.skip_crop(db, crop_id, user_id)
        elif decision in LABEL_NAMES:
            labels.set_label(db, crop_id, user_id, decision)
        else:
            abort(400, description=f"Unknown decision {decision!r}.")
    except labels.CropNotFound:
        abort(404, description=f"There is no crop {crop_id}.")
    return redirect(url_for("labelling.label_page"))


def _undo_message(undone: labels.Undone) -> str:
    if not undone.restored:
        return (
            f"Crop {undone.crop_id} was relabelled by another admin since: their label"
            f" ({LABEL_NAMES.get(undone.label, 'none')}) is kept."
        )
    if undone.label is None:
        return f"Undone: crop {undone.crop_id} is unlabelled again."
    return f"Undone: crop {undone.crop_id} is back to {LABEL_NAMES[undone.label]}."


def _exclude_ids() -> list[int]:
    raw = request.args.get("exclude", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        abort(400, description="exclude must be crop ids separated by commas.")
    return ids[:MAX_EXCLUDE]


@api.get("/crops/next")
def next_crop():
    """The next crop for this admin (claimed for them), not one of ``?exclude=1,2``."""
    db = get_db()
    row = labels.claim_next_crop(
        db,
        admin_id(),
        exclude=_exclude_ids(),
        claim_seconds=claim_seconds(),
        order=queue_order(),
    )
    return {"crop": crop_json(row) if row else None, "progress": progress_json(db)}


@api.post("/crops/<int:crop_id>/label")
def label_crop(crop_id: int):
    """Save one decision: ``{"label": "target" | "not_target" | "not_face"}``.

    :raise 400: not JSON, or an unknown label. :raise 404: no such crop.
    """
    body = request.get_json(silent=True)
    label = body.get("label") if isinstance(body, dict) else None
    if label not in LABEL_NAMES:
        abort(400, description=f'Send {{"label": ...}} with one of {", ".join(LABEL_NAMES)}.')
    db = get_db()
    try:
        change = labels.set_label(db, crop_id, admin_id(), label)
    except labels.CropNotFound:
        abort(404, description=f"There is no crop {crop_id}.")
    return {
        "crop_id": crop_id,
        "old_label": change.old_label,
        "label": change.new_label,
        "progress": progress_json(db),
    }


@api.post("/crops/<int:crop_id>/skip")
def skip_crop(crop_id: int):
    """Leave a crop for later: it goes to the back of this admin's queue.

    :raise 404: no such crop.
    """
    db = get_db()
    try:
        labels.skip_crop(db, crop_id, admin_id())
    except labels.CropNotFound:
        abort(404, description=f"There is no crop {crop_id}.")
    return {"crop_id": crop_id, "progress": progress_json(db)}


@api.post("/undo")
def undo():
    """Take back this admin's latest decision; each call walks one further back.

    :raise 409: nothing left to undo.
    """
    db = get_db()
    undone = labels.undo_last(db, admin_id(), claim_seconds=claim_seconds())
    if undone is None:
        abort(409, description="Nothing left to undo.")
    return {
        "crop": crop_json(labels.get_crop(db, undone.crop_id)),
        "label": undone.label,
        "restored": undone.restored,
        "message": _undo_message(undone),
        "progress": progress_json(db),
    }


@api.get("/progress")
def progress():
    """Crops in all, labelled, unlabelled and per label."""
    return progress_json(get_db())
