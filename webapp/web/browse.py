"""Crops in bulk: the grid (many crops, one default label, click the exceptions), the
browse view (filter by label and video, change any label), one crop's page with its
history, and the crop images themselves, served by crop id only."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from webapp.context import get_db, get_settings
from webapp.operations.target_picture import publish_crop_picture
from webapp.store import labels
from webapp.store.db import MAX_INTEGER
from webapp.store.settings import get_setting
from webapp.store.target_picture import TARGET_PICTURE, set_target_picture
from webapp.store.videos import list_videos
from webapp.web import auth
from webapp.web.helpers import (
    LABEL_NAMES,
    admin_id,
    claim_seconds,
    crop_json,
    get_crop_or_404,
    number_arg,
    progress_json,
    store_int,
    target_name,
)

bp = Blueprint("browse", __name__, url_prefix="/admin")
auth.require_login(bp)

GRID_SIZES = (24, 48, 96)
PAGE_SIZE = 60
FILTERS = {"": "All", "unlabelled": "Unlabelled", **LABEL_NAMES}


def _send_crop_file(crop_id: int, column: str) -> Response:
    row = get_crop_or_404(crop_id)
    response = send_from_directory(get_settings().crops_dir, row[column], max_age=3600)
    response.cache_control.private = True
    return response


@bp.get("/crops/<int:crop_id>/image.png")
def crop_image(crop_id: int):
    """The colour crop (with margin) people label. :raise 404: no such crop or file."""
    return _send_crop_file(crop_id, "image_file")


@bp.get("/crops/<int:crop_id>/face.png")
def crop_face(crop_id: int):
    """The greyscale model input. :raise 404: no such crop or file."""
    return _send_crop_file(crop_id, "face_file")


@bp.get("/crops/<int:crop_id>/frame.jpg")
def crop_frame(crop_id: int):
    """The whole video frame with the face marked.

    :raise 404: no such crop, an imported crop, or the video file is gone.
    """
    from webapp.vision.frames import FrameUnavailable, frame_with_face

    row = get_crop_or_404(crop_id)
    if row["source"] != "video":
        abort(404, description=f"Crop {crop_id} was imported from an image, not a video.")
    face = (row["face_x"], row["face_y"], row["face_w"], row["face_h"])
    crop = (row["crop_x"], row["crop_y"], row["crop_w"], row["crop_h"])
    try:
        jpeg = frame_with_face(row["video_path"], row["frame_index"], face, crop)
    except FrameUnavailable as error:
        abort(404, description=str(error))
    response = Response(jpeg, mimetype="image/jpeg")
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    return response


@bp.route("/crops/<int:crop_id>", methods=["GET", "POST"])
def crop_page(crop_id: int):
    """One crop: large, where it came from, its label to change, its label history.

    :raise 400: unknown label. :raise 404: no such crop.
    """
    row = get_crop_or_404(crop_id)
    db = get_db()
    if request.method == "POST":
        label = request.form.get("label", "")
        if label not in LABEL_NAMES:
            abort(400, description=f"Unknown label {label!r}.")
        labels.set_label(db, crop_id, admin_id(), label)
        flash(f"Crop {crop_id} is now labelled {LABEL_NAMES[label]}.")
        back = auth.safe_next(request.form.get("next"))
        return redirect(back or url_for("browse.crop_page", crop_id=crop_id))
    return render_template(
        "admin/crop.html",
        crop=crop_json(row),
        history=labels.label_history(db, crop_id),
        label_names=LABEL_NAMES,
        target_name=target_name(),
        is_target_picture=get_setting(db, TARGET_PICTURE) == str(crop_id),
    )


@bp.post("/crops/<int:crop_id>/target-picture")
def use_as_target_picture(crop_id: int):
    """Show this crop as the target's picture on the public result page.

    :raise 404: no such crop.
    """
    get_crop_or_404(crop_id)
    set_target_picture(get_db(), crop_id)
    # Hosts without the crops folder show it from the store.
    publish_crop_picture(get_db(), get_settings().crops_dir, crop_id)
    flash(f"Crop {crop_id} is now the picture of {target_name()} on the public page.")
    return redirect(url_for("browse.crop_page", crop_id=crop_id))


def _grid_default() -> str:
    default = request.values.get("default", "not_target")
    if default not in LABEL_NAMES:
        abort(400, description=f"Unknown label {default!r}.")
    return default


@bp.get("/grid")
def grid():
    """A page of unlabelled crops, all pre-marked ``?default=`` (not target unless said).

    :raise 400: unknown label or size.
    """
    size = request.args.get("size", 48, type=int)
    if size not in GRID_SIZES:
        abort(400, description=f"size must be one of {', '.join(map(str, GRID_SIZES))}.")
    db = get_db()
    rows = labels.claim_crops(db, admin_id(), size, claim_seconds=claim_seconds() * 5)
    return render_template(
        "admin/grid.html",
        crops=[crop_json(row) for row in rows],
        default=_grid_default(),
        size=size,
        sizes=GRID_SIZES,
        progress=progress_json(db),
        label_names=LABEL_NAMES,
        target_name=target_name(),
    )


@bp.post("/grid")
def grid_save():
    """Save the whole grid at once: every ``label-<id>`` field (all or nothing).

    :raise 400: a field with a bad id or label. :raise 404: a crop that does not exist.
    """
    default = _grid_default()  # checked first: a bad form saves nothing
    chosen: dict[int, str] = {}
    for key, value in request.form.items():
        if not key.startswith("label-"):
            continue
        try:
            crop_id = store_int(key[6:])
        except ValueError:
            crop_id = None
        if crop_id is None or value not in LABEL_NAMES:
            abort(400, description=f"Bad grid field {key}={value!r}.")
        chosen[crop_id] = value
    try:
        changes = labels.set_labels(get_db(), admin_id(), chosen)
    except labels.CropNotFound as missing:
        abort(404, description=f"There is no crop {missing.args[0]}; nothing was saved.")
    counts = {
        name: sum(c.new_label == label for c in changes) for label, name in LABEL_NAMES.items()
    }
    flash(
        f"Saved {len(changes)} labels: "
        + ", ".join(f"{n} {name.lower()}" for name, n in counts.items() if n)
        if changes
        else "Nothing to save."
    )
    size = request.form.get("size", 48, type=int)
    return redirect(url_for("browse.grid", default=default, size=size))


@bp.get("/browse")
def browse():
    """Every crop, filtered by ``?label=`` (or ``unlabelled``) and ``?video=``, paged.

    :raise 400: unknown label filter, a video or page that is not a whole number.
    """
    label = request.args.get("label", "")
    if label not in FILTERS:
        abort(400, description=f"Unknown label filter {label!r}.")
    video_id = number_arg("video")
    page = max(1, number_arg("page", 1, highest=MAX_INTEGER // PAGE_SIZE))
    db = get_db()
    rows = labels.find_crops(
        db, label=label or None, video_id=video_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    total = labels.count_crops(db, label=label or None, video_id=video_id)
    return render_template(
        "admin/browse.html",
        crops=[crop_json(row) for row in rows],
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        label=label,
        video_id=video_id,
        videos=list_videos(db),
        filters=FILTERS,
        label_names=LABEL_NAMES,
        progress=progress_json(db),
    )
