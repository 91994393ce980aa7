"""The admin dashboard, Retrain, background jobs (their pages, progress JSON and cancel)
and scoring the unlabelled crops for the "least sure first" labelling queue.

Long work never runs in the request: :func:`webapp.jobs.start_job` launches a detached
worker and the page polls ``/api/admin/jobs/<id>`` (``static/training.js``).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from webapp.context import get_db, get_settings
from webapp.jobs import KIND_NAMES, workers
from webapp.learn import face_models
from webapp.learn.features import EXTRACTORS, default_extractor, extractor_problems
from webapp.learn.preprocess import DEFAULT_PRESET, PRESETS
from webapp.store import jobs as job_store
from webapp.store import models as model_store
from webapp.store.crop_scores import score_coverage
from webapp.store.dashboard import dashboard_counts
from webapp.store.descriptors import descriptor_coverage
from webapp.store.videos import list_videos
from webapp.web import auth
from webapp.web.helpers import (
    get_job_or_404,
    job_json,
    launch_job,
    recent_jobs,
    report_context,
    target_name,
)

bp = Blueprint("training", __name__, url_prefix="/admin")
api = Blueprint("training_api", __name__, url_prefix="/api/admin")
auth.require_login(bp)
auth.require_login(api)

RECENT_JOBS = 10


class RetrainForm(FlaskForm):
    preset = SelectField(
        "Preprocessing preset",
        choices=[SelectChoice(p.name, f"{p.name}: {p.description}") for p in PRESETS.values()],
        default=DEFAULT_PRESET,
    )
    extractor = SelectField("Features", choices=[])
    submit = SubmitField("Retrain")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # List the registry as it is now; the default is the setting or the best available.
        self.problems = extractor_problems()
        self.extractor.choices = [
            SelectChoice(
                e.name,
                f"{e.name}: {e.description}"
                + (" (not installed)" if self.problems[e.name] else ""),
            )
            for e in EXTRACTORS.values()
        ]
        if not self.extractor.data:  # not chosen (or an older form): the default
            self.extractor.data = default_extractor(get_settings().extractor, self.problems)
        # The page hides the preset while one of these is chosen (static/retrain.js).
        self.presetless = [e.name for e in EXTRACTORS.values() if not e.uses_preset]


class TargetPhotosForm(FlaskForm):
    photos = MultipleFileField(
        "Photos of the target from elsewhere", [DataRequired("Choose one or more photos.")]
    )
    submit = SubmitField("Add as target crops")


class DescribeForm(FlaskForm):
    submit = SubmitField("Describe the crops")


class ScoreForm(FlaskForm):
    submit = SubmitField("Score the unlabelled crops")


@bp.get("/dashboard")
def dashboard():
    """Videos, crops per label, the active model and its scores, Retrain, recent jobs."""
    db = get_db()
    jobs = [job_json(job) for job in recent_jobs(RECENT_JOBS)]
    return render_template(
        "admin/dashboard.html",
        counts=dashboard_counts(db),
        videos=list_videos(db),
        active=model_store.get_active_model_version(db),
        kept=_kept_version(db),
        retrain_form=RetrainForm(),
        score_form=ScoreForm(),
        coverage=score_coverage(db),
        embeddings_problem=face_models.model_problem(),
        descriptors=descriptor_coverage(db, face_models.DESCRIPTOR_MODEL),
        describe_form=DescribeForm(),
        target_photos_form=TargetPhotosForm(),
        jobs=jobs,
        workers=workers(db, get_settings()) if get_settings().job_runner == "worker" else None,
        running=[job for job in jobs if not job["finished"]],
        kind_names=KIND_NAMES,
        target_name=target_name(),
    )


def _kept_version(db: Any) -> dict[str, Any] | None:
    """The newest version when training kept it inactive (it did not beat the active one):
    the dashboard shows the two side by side, one click from activating it."""
    versions = model_store.list_model_versions(db)
    newest = versions[0] if versions else None
    if newest is None or newest["is_active"] or "activation" not in newest["metrics"]:
        return None
    return newest


@bp.post("/retrain")
def retrain():
    """Start a training job with the chosen preset and features; go to its page.

    :raise 400: an unknown preset or extractor.
    """
    form = RetrainForm()
    if not form.validate_on_submit():
        problems = "; ".join(f"{name}: {', '.join(e)}" for name, e in form.errors.items())
        abort(400, description=f"Training was not started: {problems}.")
    problem = form.problems[form.extractor.data]
    if problem:
        flash(f"Training was not started: {problem}")
        return redirect(url_for("training.dashboard"))
    params = {"extractor": form.extractor.data}
    if form.extractor.data not in form.presetless:  # a preset the features ignore is not kept
        params["preset"] = form.preset.data
    return launch_job("train", params)


@bp.post("/target-photos")
def add_target_photos():
    """Add photos of the target from elsewhere (not the movie): each one's largest face is
    stored as a crop labelled target, as ``import-folders`` would.

    :raise 400: no photo chosen, or the form's token is missing.
    """
    from webapp.operations.folders import add_photos

    form = TargetPhotosForm()
    if not form.validate_on_submit():
        problems = "; ".join(", ".join(errors) for errors in form.errors.values())
        abort(400, description=f"No photo was added: {problems}")
    settings = get_settings()
    limit = settings.max_photo_bytes
    photos = [(upload.filename or "photo", upload.read(limit + 1)) for upload in form.photos.data]
    too_big = [name for name, data in photos if len(data) > limit]
    summary = add_photos(
        get_db(),
        settings.crops_dir,
        [(name, data) for name, data in photos if len(data) <= limit],
        label="target",
        size=settings.face_size,
        margin=settings.crop_margin,
    )
    added = summary.imported["target"]
    flash(f"{added} photo{'s' if added != 1 else ''} of the target added as target crops.")
    for name in too_big:
        flash(f"{name}: not added, larger than {limit / 2**20:.0f} MiB.")
    for skipped in summary.skipped:
        flash(f"{skipped['file']}: not added, {skipped['reason']}.")
    return redirect(url_for("training.dashboard"))


@bp.post("/describe")
def describe():
    """Describe (face embeddings) every crop that has no descriptor yet, in the background."""
    if not DescribeForm().validate_on_submit():
        abort(400, description="The form was incomplete.")
    problem = face_models.model_problem()
    if problem:
        flash(problem)
        return redirect(url_for("training.dashboard"))
    return launch_job("describe", {})


@bp.post("/score")
def score():
    """Score the unlabelled crops with the active model (for "least sure first")."""
    if not ScoreForm().validate_on_submit():
        abort(400, description="The form was incomplete.")
    if model_store.get_active_model_version(get_db()) is None:
        flash("There is no model yet: train one first.")
        return redirect(url_for("training.dashboard"))
    return launch_job("score", {})


@bp.get("/jobs/<int:job_id>")
def job_page(job_id: int):
    """One job: its state and progress (kept up to date by the page's script), its error,
    and when it is done its result (a training's report).

    :raise 404: no such job.
    """
    job = get_job_or_404(job_id)
    version = None
    if job["status"] == "done" and job["kind"] == "train":
        version = model_store.get_model_version(get_db(), job["result"]["version_id"])
    return render_template(
        "admin/job.html",
        job=job_json(job),
        active=model_store.get_active_model_version(get_db()),
        **(report_context(version) if version else {"version": None}),
    )


@bp.post("/jobs/<int:job_id>/cancel")
def cancel_page(job_id: int):
    """Ask a job to stop (the form's way; the page's script uses the API).

    :raise 404: no such job.
    """
    get_job_or_404(job_id)
    if job_store.cancel_job(get_db(), job_id):
        flash(f"Job {job_id} is being cancelled.")
    else:
        flash(f"Job {job_id} had already finished.")
    return redirect(url_for("training.job_page", job_id=job_id))


@api.get("/jobs/<int:job_id>")
def job_state(job_id: int):
    """A job's state and progress as JSON (polled by the page).

    :raise 404: no such job.
    """
    return job_json(get_job_or_404(job_id))


@api.post("/jobs/<int:job_id>/cancel")
def cancel(job_id: int):
    """Ask a job to stop: a queued one at once, a running one at its next progress report.

    :raise 404: no such job. :raise 409: it has already finished.
    """
    get_job_or_404(job_id)
    if not job_store.cancel_job(get_db(), job_id):
        abort(409, description=f"Job {job_id} has already finished.")
    return job_json(job_store.get_job(get_db(), job_id))
