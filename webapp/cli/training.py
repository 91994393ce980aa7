"""Commands for training and evaluating: ``flask --app webapp train`` and ``evaluate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from webapp.context import get_db, get_settings
from webapp.learn.features import EXTRACTORS, default_extractor
from webapp.learn.preprocess import DEFAULT_PRESET, PRESETS
from webapp.learn.versions import ModelVersion, VersionError
from webapp.operations.activation import POLICIES
from webapp.operations.model_files import load_version
from webapp.store import models as model_store


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _print_training(result: dict[str, Any]) -> None:
    counts, target = result["data_counts"], result["classes"]["target"]
    state = "is now active" if result["activated"] else "was kept inactive"
    click.echo(
        f"Model version {result['version_id']} ({result['directory']}) {state}:"
        f" {result['activation_reason']}."
        f"\nTrained on {counts['target']} target and {counts['not_target']} not-target crops"
        f" in {result['seconds']:.1f} s; extractor {result['extractor']},"
        f" preset {result['preset'] or '-'}. Validation: {result['validation']['text']}."
    )
    auc = "n/a" if result["roc_auc"] is None else f"{result['roc_auc']:.3f}"
    click.echo(
        f"Accuracy {_percent(result['accuracy'])}, ROC AUC {auc};"
        f" target: precision {_percent(target['precision'])}, recall"
        f" {_percent(target['recall'])}, f1 {_percent(target['f1-score'])}."
    )
    for warning in result["warnings"]:
        click.echo(f"Warning: {warning}")
    click.echo(f"Verdict: {result['verdict']['text']}")
    cv = result["cv_score"]
    if cv["mean"] is not None:
        click.echo(f"Cross-validated {cv['metric']}: {cv['mean']:.3f} ({cv['folds']} folds).")
    click.echo(f"Best parameters: {json.dumps(result['best_params'])}")
    _print_matrix(result["confusion_matrix"]["matrix"])


def _print_matrix(matrix: list[list[int]]) -> None:
    click.echo("Confusion matrix (rows: true, columns: predicted):")
    click.echo(f"{'':>12} {'not_target':>11} {'target':>7}")
    for label, (n_not, n_target) in zip(("not_target", "target"), matrix, strict=True):
        click.echo(f"{label:>12} {n_not:>11} {n_target:>7}")


@click.command("train")
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default=DEFAULT_PRESET,
    show_default=True,
    help="Preprocessing of the greyscale faces (seed = the tutorial's).",
)
@click.option(
    "--extractor",
    type=click.Choice(sorted(EXTRACTORS)),
    default=None,
    help="Feature stage before the SVM [default: the EXTRACTOR setting, else the best"
    " available: face-embeddings when installed, else eigenfaces].",
)
@click.option(
    "--activate",
    type=click.Choice(POLICIES),
    default="if-better",
    show_default=True,
    help="Make the new version the one visitors get: if it is at least as good as the"
    " active one on the same held-out crops, always, or never.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def train_command(preset: str, extractor: str | None, activate: str, as_json: bool) -> None:
    """Train a model version on the labelled crops; it goes live if it is not worse."""
    from webapp.operations.training import TrainingRefused, train_from_store

    show = not as_json and sys.stderr.isatty()

    def progress(fraction: float, message: str) -> None:
        click.echo(f"\r{100 * fraction:3.0f}% {message:<50}", nl=False, err=True)

    settings = get_settings()
    try:
        result = train_from_store(
            get_db(),
            settings.crops_dir,
            settings.models_dir,
            preset=preset,
            extractor=extractor or default_extractor(settings.extractor),
            face_size=settings.face_size,
            crop_margin=settings.crop_margin,
            progress=progress if show else None,
            describe_workers=settings.describe_workers,
            activate=activate,
        )
    except TrainingRefused as error:
        raise click.ClickException(str(error)) from None
    if show:
        click.echo("", err=True)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        _print_training(result.as_dict())


def active_version() -> ModelVersion:
    """The active model version of the app's store, loaded.

    :raise click.ClickException: none trained yet, or it cannot be loaded.
    """
    active = model_store.get_active_model_version(get_db())
    if active is None:
        raise click.ClickException(
            "there is no active model yet: run `.venv/bin/flask --app webapp train`"
        )
    try:
        return load_version(get_db(), get_settings().models_dir, active["directory"])
    except VersionError as error:
        raise click.ClickException(str(error)) from None


@click.command("evaluate")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as one JSON object.")
@with_appcontext
def evaluate_command(folder: Path, as_json: bool) -> None:
    """Score the photos in FOLDER/1 (the target) and FOLDER/0 with the active model."""
    from webapp.operations.evaluation import score_folder
    from webapp.vision.images import ImageLimits

    if not (folder / "1").is_dir() or not (folder / "0").is_dir():
        raise click.ClickException(
            f"{folder} must hold a folder 1 (photos of the target) and a folder 0 (others)"
        )
    settings = get_settings()
    limits = ImageLimits(max_bytes=settings.max_photo_bytes, max_pixels=settings.max_photo_pixels)
    result = score_folder(active_version(), folder, limits)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"Model version {result['version']}: {result['scored']} photos scored.")
    for item in result["images"]:
        truth = "target" if item["truth"] else "other"
        click.echo(f"  {item['percent']:5.1f}%  {truth:<6}  {item['file']}")
    if result["scored"]:
        target = result["target"]
        auc = "n/a" if result["roc_auc"] is None else f"{result['roc_auc']:.3f}"
        click.echo(
            f"Accuracy {_percent(result['accuracy'])}; target: precision"
            f" {_percent(target['precision'])}, recall {_percent(target['recall'])},"
            f" f1 {_percent(target['f1'])}; ROC AUC {auc}."
        )
        _print_matrix(result["confusion_matrix"]["matrix"])
    for item in result["skipped"]:
        click.echo(f"Skipped {item['file']}: {item['reason']}.")
