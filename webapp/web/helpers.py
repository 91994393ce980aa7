"""What several pages share: the target's name, crops and jobs as the pages' scripts see
them, starting a job, a model version's report. Views import these, never each other."""

from __future__ import annotations

import os
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.routing import IntegerConverter

from webapp.context import get_db, get_settings
from webapp.jobs import KIND_NAMES, start_job, worker_wait
from webapp.learn.features import ExtractorError, get_extractor
from webapp.learn.versions import ModelVersion, VersionError
from webapp.operations import target_picture as target_pictures
from webapp.operations.active_model import ActiveModel
from webapp.operations.model_files import read_metadata
from webapp.store import jobs as job_store
from webapp.store import labels
from webapp.store.db import MAX_INTEGER, Connection, Row
from webapp.store.settings import get_target_name
from webapp.store.videos import crop_counts
from webapp.web import auth

LABEL_NAMES = {"target": "Target", "not_target": "Not target", "not_face": "Not a face"}
EIGENFACES_SHOWN = 8


class StoreIntConverter(IntegerConverter):
    """``<int:...>`` in every route: a number the store cannot hold matches no route (a
    404), instead of reaching a query that raises OverflowError."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INTEGER)
        super().__init__(map, *args, **kwargs)


def store_int(text: str) -> int:
    """A whole number from 0 to the largest the store holds, as ``type=`` of a request's
    ``args.get`` or ``form.get`` (which turn the ValueError of anything else into their
    default)."""
    value = int(text)
    if not 0 <= value <= MAX_INTEGER:
        raise ValueError(f"{text!r} is not a number the store can hold")
    return value


def number_arg(name: str, default: int | None = None, *, highest: int = MAX_INTEGER):
    """A whole-number query argument; the default when it is absent or blank.

    :raise 400: not a whole number from 0 to ``highest``.
    """
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        value = store_int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= highest:
        abort(400, description=f"{name} must be a whole number from 0 to {highest}.")
    return value


def target_name() -> str:
    """The target's name as the admins set it, else the TARGET_NAME setting."""
    return get_target_name(get_db(), get_settings().target_name)


def active_model() -> ActiveModel:
    """This process's view of the active model version."""
    return current_app.extensions["lookalike.active_model"]


def report_examples(version: ModelVersion | None) -> list[dict[str, Any]]:
    """The held-out crops a version's report shows (none without a version)."""
    return (version.metadata.get("report") or {}).get("examples", []) if version else []


def has_target_picture(db: Connection, version: ModelVersion | None) -> bool:
    """Whether ``/target-picture`` has a picture of the target to show (published in the
    store, or its file on this host)."""
    return target_pictures.has_target_picture(
        db, get_settings().crops_dir, report_examples(version)
    )


def home_page(db: Connection, error: str | None = None, status: int = 200):
    """The public home page: the target and the selfie form (with an error), or "coming
    soon" while no model is ready. Nothing about the admin's work (counts, commands) is
    ever shown to visitors."""
    version = active_model().current(db)
    page = render_template(
        "home.html",
        ready=version is not None,
        error=error,
        has_target_picture=has_target_picture(db, version),
        target_name=target_name(),
        max_photo_mb=get_settings().max_photo_bytes // (1024 * 1024),
    )
    return page, status


def progress_json(db: Connection) -> dict[str, int]:
    """Crops in all, labelled, unlabelled and per label: the progress bar's numbers."""
    counts = crop_counts(db)
    return {**counts, "labelled": counts["total"] - counts["unlabelled"]}


def time_in_video(time_ms: int | None) -> str:
    """m:ss (h:mm:ss past an hour), as a video player shows it."""
    if time_ms is None:
        return ""
    seconds = time_ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def crop_json(row: Row) -> dict[str, Any]:
    """What a page needs to show a crop and where it came from."""
    from_video = row["source"] == "video"
    return {
        "id": row["id"],
        "label": row["label"],
        "source": row["source"],
        "image_url": url_for("browse.crop_image", crop_id=row["id"]),
        "page_url": url_for("browse.crop_page", crop_id=row["id"]),
        "frame_url": url_for("browse.crop_frame", crop_id=row["id"]) if from_video else None,
        "frame_available": bool(from_video and row["video_path"])
        and os.path.isfile(row["video_path"]),
        "video_id": row["video_id"],
        "video_name": row["video_name"],
        "time": time_in_video(row["time_ms"]),
        "frame_index": row["frame_index"],
        "source_name": row["source_name"],
    }


def get_crop_or_404(crop_id: int) -> Row:
    row = labels.get_crop(get_db(), crop_id)
    if row is None:
        abort(404, description=f"There is no crop {crop_id}.")
    return row


def claim_seconds() -> int:
    """How long a crop shown to one admin is kept from the others."""
    return get_settings().label_claim_seconds


def admin_id() -> int:
    return auth.current_admin().id


def launch_job(kind: str, params: dict[str, Any]):
    """Start a job and go to its page; if one of this kind is unfinished, say so and go
    to that one's page instead (nothing new is started)."""
    try:
        job_id = start_job(get_settings(), kind, params, created_by=auth.current_admin().id)
    except job_store.JobAlreadyRunning as running:
        flash(
            f"{KIND_NAMES[kind]} is already {running.job['status']} (job {running.job['id']}):"
            " wait for it to finish or cancel it before starting another."
        )
        return redirect(url_for("training.job_page", job_id=running.job["id"]))
    except OSError as error:
        flash(f"The job could not be started: {error}")
        return redirect(url_for("training.dashboard"))
    return redirect(url_for("training.job_page", job_id=job_id))


def recent_jobs(limit: int, kind: str | None = None) -> list[dict[str, Any]]:
    """The latest jobs, newest first, those whose process died shown failed."""
    db = get_db()
    job_store.fail_dead_jobs(db, get_settings().job_heartbeat_timeout)
    return job_store.recent_jobs(db, limit, kind=kind)


def job_json(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the page's script sees it: state, progress, error, where its result is,
    and what a queued one waits for (a worker; none running: how to start one)."""
    finished = job["status"] not in job_store.UNFINISHED
    wait = worker_wait(get_db(), get_settings(), job)
    data = {
        key: job[key]
        for key in (
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "error",
            "params",
            "created_at",
            "started_at",
            "finished_at",
            "worker_host",
        )
    }
    data.update(
        kind_name=KIND_NAMES.get(job["kind"], job["kind"]),
        finished=finished,
        cancel_requested=job["cancel_requested"],
        waiting=wait.waiting if wait else None,
        no_worker=bool(wait and wait.running == 0),
        page_url=url_for("training.job_page", job_id=job["id"]),
        cancel_url=url_for("training_api.cancel", job_id=job["id"]),
        result=None,
    )
    result = job["result"] or {}
    if job["status"] == "done" and job["kind"] == "train":
        data["result"] = {
            "version_id": result.get("version_id"),
            "activated": result.get("activated", True),
            "activation_reason": result.get("activation_reason"),
            "accuracy": result.get("accuracy"),
            "roc_auc": result.get("roc_auc"),
            "version_url": url_for("versions.report", version_id=result.get("version_id", 0)),
        }
    elif job["status"] == "done":
        data["result"] = result
    if job["status"] == "done" and job["kind"] == "extract":
        data["result"]["label_url"] = url_for("labelling.label_page")
    if job["status"] == "done" and job["kind"] == "score":
        data["result"]["label_url"] = url_for("labelling.label_page", order="uncertain")
    return data


def get_job_or_404(job_id: int) -> dict[str, Any]:
    db = get_db()
    job_store.fail_dead_jobs(db, get_settings().job_heartbeat_timeout)
    job = job_store.get_job(db, job_id)
    if job is None:
        abort(404, description=f"There is no job {job_id}.")
    return job


def shows_eigenfaces(version: dict[str, Any]) -> bool:
    """Whether the version's features have eigenfaces to show (a PCA over face pixels)."""
    try:
        return get_extractor(version["extractor"]).uses_pca
    except ExtractorError:
        return False


def report_context(version: dict[str, Any]) -> dict[str, Any]:
    """What the report template needs: the version, its report and its example crops."""
    from webapp.learn import pictures

    report = version["metrics"]
    db = get_db()
    examples = [
        {**example, "exists": labels.get_crop(db, example["crop_id"]) is not None}
        for example in report.get("examples", [])
    ]
    try:
        libraries = read_metadata(db, get_settings().models_dir, version["directory"]).get(
            "libraries", {}
        )
        files_problem = None
    except VersionError as error:
        libraries, files_problem = {}, str(error)
    return {
        "version": version,
        "report": report,
        "confusion": pictures.confusion_table(report),
        "examples": examples,
        "eigenfaces": range(EIGENFACES_SHOWN) if shows_eigenfaces(version) else [],
        "libraries": libraries,
        "files_problem": files_problem,
    }
