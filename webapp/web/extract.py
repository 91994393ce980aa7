"""Start an extraction from the admin page: a video uploaded through the browser, or a
file already in the videos folder, with the same options as ``flask extract``; it runs
as a background job of kind ``extract``.

Uploads are streamed straight into the videos folder under a generated name (the
uploaded name is never used as a path), up to ``MAX_VIDEO_UPLOAD_BYTES`` (2 GiB by
default) for this route only: the app's ``MAX_CONTENT_LENGTH`` (16 MiB) stays for every
other request. Flask-WTF's global CSRF check would parse the body under that global
limit first, so this one view is exempt from it and checks its token itself (the form's
``csrf_token``) after the body is parsed under the higher limit.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask import Blueprint, current_app, flash, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data
from werkzeug.utils import secure_filename
from wtforms import FloatField, IntegerField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from webapp.context import get_settings
from webapp.settings import EXTRACTION
from webapp.vision.limits import MAX_CAP, MAX_EVERY, MAX_FACE_SIZE, MIN_FACE_SIZE
from webapp.web import auth
from webapp.web.helpers import job_json, launch_job, recent_jobs

bp = Blueprint("extract", __name__, url_prefix="/admin")
auth.require_login(bp)

VIDEO_SUFFIXES = {
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts",
}  # fmt: skip
PARTIAL_PREFIX = ".upload-"


class ExtractOptions(FlaskForm):
    """The options of ``flask extract``; a blank field takes the command's default."""

    offset = IntegerField(
        "Skip at the start (frames)", [Optional(), NumberRange(min=0)], default=EXTRACTION.offset
    )
    every = IntegerField(
        "Average gap between kept frames",
        [Optional(), NumberRange(0, MAX_EVERY)],
        default=EXTRACTION.every,
    )
    cap = IntegerField(
        "Stop after keeping (frames)", [Optional(), NumberRange(1, MAX_CAP)], default=EXTRACTION.cap
    )
    seed = IntegerField("Seed (blank: a new one)", [Optional(), NumberRange(0, 2**32 - 1)])
    size = IntegerField(
        "Model input side (pixels)", [Optional(), NumberRange(MIN_FACE_SIZE, MAX_FACE_SIZE)]
    )
    min_face = FloatField(
        "Smallest face (fraction of the frame)",
        [Optional(), NumberRange(0.02, 1.0)],
        default=EXTRACTION.min_face,
    )

    def job_params(self, video: Path) -> dict[str, Any]:
        def value(field: Any, default: Any) -> Any:
            return default if field.data is None else field.data

        return {
            "video": str(video),
            "offset": value(self.offset, EXTRACTION.offset),
            "every": value(self.every, EXTRACTION.every),
            "cap": value(self.cap, EXTRACTION.cap),
            "seed": value(self.seed, secrets.randbelow(2**32)),
            "size": value(self.size, get_settings().face_size),
            "min_face": float(value(self.min_face, EXTRACTION.min_face)),
        }


class UploadForm(ExtractOptions):
    video = FileField("Video file", [FileRequired("Choose a video file to upload.")])
    submit = SubmitField("Upload and extract")


class FolderForm(ExtractOptions):
    video = SelectField("Video in the videos folder", choices=[])
    submit = SubmitField("Extract")


def videos_dir() -> Path:
    return Path(get_settings().videos_dir)


def folder_videos() -> list[dict[str, Any]]:
    """The files in the videos folder (name, size), by name; partial uploads left out."""
    folder = videos_dir()
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        found.append({"name": entry.name, "size": human_bytes(entry.stat().st_size)})
    return found


def human_bytes(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"


def upload_name(filename: str | None) -> str:
    """A new file name for an upload: time, random part, the original name made safe."""
    original = Path(filename or "")
    suffix = original.suffix.lower() if original.suffix.lower() in VIDEO_SUFFIXES else ".video"
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", secure_filename(original.stem))[:40].strip("-")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"upload-{stamp}-{secrets.token_hex(3)}{'-' + stem if stem else ''}{suffix}"


def _page(upload_form: UploadForm, folder_form: FolderForm, status: int = 200):
    return (
        render_template(
            "admin/extract.html",
            upload_form=upload_form,
            folder_form=folder_form,
            videos=folder_videos(),
            videos_dir=videos_dir(),
            upload_limit=human_bytes(get_settings().max_video_upload_bytes),
            jobs=[job_json(job) for job in recent_jobs(5, kind="extract")],
        ),
        status,
    )


def _folder_form(submitted: bool = False) -> FolderForm:
    """The videos-folder form, read from this request's body only when it was posted."""
    form = FolderForm() if submitted else FolderForm(formdata=None)
    form.video.choices = [SelectChoice(video["name"]) for video in folder_videos()]
    if form.size.data is None:
        form.size.data = get_settings().face_size
    return form


@bp.get("/extract")
def extract_page():
    """The two ways to start an extraction, the videos folder, recent extraction jobs."""
    upload = UploadForm(formdata=None)
    upload.size.data = get_settings().face_size
    return _page(upload, _folder_form())


@bp.post("/extract/folder")
def extract_from_folder():
    """Extract from a file of the videos folder, chosen from its listing.

    :raise 400: (as the page) a name not in the listing, bad options, no CSRF token.
    """
    form = _folder_form(submitted=True)
    if not form.validate_on_submit():
        return _page(UploadForm(formdata=None), form, 400)
    # The name was checked against the listing, which holds only names found in the folder.
    return launch_job("extract", form.job_params(videos_dir() / form.video.data))


def _too_large(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        description=f"The video is larger than the upload limit of {human_bytes(limit)}"
        " (MAX_VIDEO_UPLOAD_BYTES). Copy it into the videos folder on the server instead"
        " and choose it from the list on the extraction page."
    )


@bp.post("/extract/upload")
def extract_upload():
    """Upload a video (streamed into the videos folder) and extract from it.

    :raise 413: larger than MAX_VIDEO_UPLOAD_BYTES. :raise 400: (as the page) no file,
        bad options, no CSRF token. :raise 422: (as the page) the file is not a video.
    """
    from webapp.vision.video import VideoError, probe

    limit = get_settings().max_video_upload_bytes
    folder = videos_dir()
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []

    def stream_factory(
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        path = folder / f"{PARTIAL_PREFIX}{secrets.token_hex(8)}.part"
        parts.append(path)
        return open(path, "w+b")

    try:
        try:
            _, fields, files = parse_form_data(
                request.environ,
                stream_factory=stream_factory,
                max_content_length=limit,
                max_form_memory_size=current_app.config.get("MAX_FORM_MEMORY_SIZE", 500_000),
                silent=False,
                max_form_parts=100,
            )
        except RequestEntityTooLarge:
            raise _too_large(limit) from None
        except ValueError:
            return _upload_refused("The upload was not a well-formed form.", 400)
        form = UploadForm(formdata=CombinedMultiDict([files, fields]))
        for storage in files.values():
            storage.stream.close()
        if not form.validate():
            return _page(form, _folder_form(), 400)
        storage = form.video.data
        part = Path(storage.stream.name)
        if part.stat().st_size == 0:
            form.video.errors.append("The file is empty.")
            return _page(form, _folder_form(), 400)
        final = folder / upload_name(storage.filename)
        os.replace(part, final)
        try:
            probe(final)
        except VideoError:
            final.unlink(missing_ok=True)
            form.video.errors.append(
                f"{storage.filename or 'The file'} is not a video OpenCV can read."
            )
            return _page(form, _folder_form(), 422)
        flash(f"Uploaded {storage.filename} as {final.name} in the videos folder.")
        params = form.job_params(final)
        if storage.filename:  # shown under the name it had on the admin's computer
            params["name"] = storage.filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
        return launch_job("extract", params)
    finally:
        for part in parts:  # other files of the form, a refused or cut-off upload
            part.unlink(missing_ok=True)


auth.csrf.exempt(extract_upload)  # checked by UploadForm itself, after parsing (see above)


def _upload_refused(message: str, status: int):
    upload = UploadForm(formdata=None)
    upload.video.errors = [message]
    return _page(upload, _folder_form(), status)
