"""``flask --app webapp extract``: scrape a video for faces from the command line."""

from __future__ import annotations

import json
import secrets
import sys

import click
from flask.cli import with_appcontext

from webapp.context import get_db, get_settings
from webapp.settings import EXTRACTION, Settings
from webapp.store.db import DatabaseError
from webapp.vision.limits import MAX_CAP, MAX_EVERY, MAX_FACE_SIZE, MIN_FACE_SIZE


@click.command("extract")
@click.argument("video", type=click.Path(dir_okay=True, path_type=str))
@click.option(
    "--offset",
    type=click.IntRange(min=0),
    default=EXTRACTION.offset,
    show_default=True,
    help="Frames to skip at the start (the intro).",
)
@click.option(
    "--every",
    type=click.IntRange(0, MAX_EVERY),
    default=EXTRACTION.every,
    show_default=True,
    help="Average number of frames skipped between kept frames (each gap is random).",
)
@click.option(
    "--cap",
    type=click.IntRange(1, MAX_CAP),
    default=EXTRACTION.cap,
    show_default=True,
    help="Stop after keeping this many frames.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=None,
    help="Random seed: the same seed keeps exactly the same frames. Default: a new one.",
)
@click.option(
    "--size",
    type=click.IntRange(MIN_FACE_SIZE, MAX_FACE_SIZE),
    default=None,
    help="Side of the greyscale model input in pixels  [default: the FACE_SIZE setting,"
    f" {Settings.face_size}]",
)
@click.option(
    "--min-face",
    type=click.FloatRange(0.02, 1.0),
    default=EXTRACTION.min_face,
    show_default=True,
    help="Smallest face to find, as a fraction of the frame's shorter side."
    " Smaller finds more distant faces and costs more time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@with_appcontext
def extract_command(
    video: str,
    offset: int,
    every: int,
    cap: int,
    seed: int | None,
    size: int | None,
    min_face: float,
    as_json: bool,
) -> None:
    """Scrape VIDEO for faces and store every face crop."""
    from webapp.operations.extraction import extract_faces
    from webapp.vision.faces import DetectorSettings, FaceDetector
    from webapp.vision.video import ReadStats, Sampling, VideoError

    seed = secrets.randbelow(2**32) if seed is None else seed
    settings = get_settings()
    size = size or settings.face_size
    sampling = Sampling(offset=offset, every=every, cap=cap, seed=seed)
    show_bar = not as_json and sys.stderr.isatty()
    bar = None

    def progress(total: int, stats: ReadStats) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Reading frames", file=sys.stderr)
            bar.__enter__()
        bar.update(stats.frames_read - bar.pos)

    try:
        summary = extract_faces(
            get_db(),
            settings.crops_dir,
            video,
            sampling,
            size=size,
            margin=settings.crop_margin,
            detector=FaceDetector(DetectorSettings(min_face=min_face)),
            progress=progress if show_bar else None,
        )
    except (VideoError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    except (DatabaseError, OSError) as error:  # a full disk, a read-only folder
        raise click.ClickException(
            f"the crops could not be stored ({error}): free some disk space or fix the"
            f" folder's permissions, then run the same command (with --seed {seed}) to finish"
        ) from None
    except KeyboardInterrupt:
        click.echo(
            "\nInterrupted: the crops found so far are stored; run the same command"
            f" (with --seed {seed}) to finish.",
            err=True,
        )
        sys.exit(130)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)

    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    click.echo(
        f"{summary.video_name} (video {summary.video_id}): {summary.frames_in_file} frames in"
        f" the file, {summary.frames_read} read, {summary.frames_kept} kept (seed {seed}),"
        f" {summary.faces_found} faces found, {summary.crops_added} crops added"
        f" in {summary.seconds:.1f} s."
    )
    if summary.faces_found == 0:
        click.echo("No faces were found in the kept frames: try a smaller --every or --offset.")
    elif summary.crops_added < summary.faces_found:
        click.echo(f"{summary.faces_found - summary.crops_added} faces were already stored.")
