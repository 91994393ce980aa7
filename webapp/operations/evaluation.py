"""Evaluate the active model on a folder of photos (``FOLDER/1`` the target, ``FOLDER/0``
everyone else), each read exactly as the public page reads an upload: the operation
behind ``flask evaluate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from webapp.learn.model import TARGET, binary_scores
from webapp.learn.versions import ModelVersion
from webapp.operations.selfies import NoFaceFound, score_photo, selfie_finders
from webapp.vision.images import FILE_FORMATS, ImageError, ImageLimits


def score_folder(version: ModelVersion, folder: Path, limits: ImageLimits) -> dict[str, Any]:
    """Score every image in ``folder/1`` (target) and ``folder/0``; the evaluation.

    Each file goes through the public page's own path (:func:`score_photo`: the same
    decoding, limits and face detection), in any format ``import-folders`` reads; its
    largest face is the one scored. Every other file is listed with the reason.
    """
    finders = selfie_finders()
    scored, skipped = [], []
    for name, truth in (("1", 1), ("0", 0)):
        for path in sorted((folder / name).iterdir()):
            if path.name.startswith("."):
                continue
            try:
                data = path.read_bytes()
                photo = score_photo(version, data, limits, finders, FILE_FORMATS)
            except IsADirectoryError:
                skipped.append({"file": str(path), "reason": "a folder, not a file"})
                continue
            except OSError as error:
                skipped.append({"file": str(path), "reason": f"unreadable: {error.strerror}"})
                continue
            except ImageError as error:
                skipped.append({"file": str(path), "reason": str(error).rstrip(".")})
                continue
            except NoFaceFound:
                skipped.append({"file": str(path), "reason": "no face found"})
                continue
            main = photo.main
            scored.append(
                {
                    "file": str(path),
                    "truth": truth,
                    "box": photo.original_box(main),
                    "percent": main.percent,
                    "target": main.is_target,
                }
            )
    return {"version": version.directory, **_scores(scored), "images": scored, "skipped": skipped}


def _scores(scored: list[dict[str, Any]]) -> dict[str, Any]:
    if not scored:
        return {"scored": 0, "accuracy": None, "target": None, "roc_auc": None}
    y = np.array([item["truth"] for item in scored], dtype=int)
    predicted = np.array([int(item["target"]) for item in scored], dtype=int)
    percents = np.array([item["percent"] for item in scored], dtype=float)
    report = binary_scores(y, predicted, percents)
    target = report["classes"]["target"]
    return {
        "scored": len(y),
        "accuracy": report["accuracy"],
        "target": {
            "precision": target["precision"],
            "recall": target["recall"],
            "f1": target["f1-score"],
            "support": int((y == TARGET).sum()),
        },
        "roc_auc": report["roc_auc"],
        "confusion_matrix": report["confusion_matrix"],
    }
