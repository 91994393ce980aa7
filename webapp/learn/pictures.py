"""Pictures of a model for the admin page: mean face, eigenfaces, confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from webapp.vision import cv2

PICTURE_SIDE = 128  # eigenfaces are shown at this size, whatever the working size


def _to_png(values: np.ndarray, side: int = PICTURE_SIDE) -> bytes:
    """A 2-D float array stretched to 0..255 and encoded as a greyscale PNG."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    image = (scaled * 255).round().astype(np.uint8)
    image = cv2.resize(image, (side, side), interpolation=cv2.INTER_NEAREST)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("PNG encoding failed")
    return data.tobytes()


def has_eigenfaces(pipeline: Pipeline) -> bool:
    return "pca" in pipeline.named_steps and hasattr(
        pipeline.named_steps["features"], "image_shape_"
    )


def mean_face_png(pipeline: Pipeline) -> bytes:
    """The mean of the (preprocessed) training faces."""
    shape = pipeline.named_steps["features"].image_shape_
    return _to_png(pipeline.named_steps["pca"].mean_.reshape(shape))


def eigenface_pngs(pipeline: Pipeline, count: int = 8) -> list[bytes]:
    """The first ``count`` principal components as images, strongest first."""
    shape = pipeline.named_steps["features"].image_shape_
    components = pipeline.named_steps["pca"].components_[:count]
    return [_to_png(component.reshape(shape)) for component in components]


def confusion_table(report: dict[str, Any]) -> dict[str, Any]:
    """The report's confusion matrix as rows for an HTML table.

    ``{"columns": [...predicted...], "rows": [{"label": true label, "cells": [n, n]}]}``.
    """
    matrix = report["confusion_matrix"]
    labels = matrix["labels"]
    return {
        "columns": labels,
        "rows": [
            {"label": label, "cells": list(cells)}
            for label, cells in zip(labels, matrix["matrix"], strict=True)
        ],
    }


def confusion_png(report: dict[str, Any], cell: int = 64) -> bytes:
    """The confusion matrix as a small picture: darker cells hold more faces."""
    matrix = np.asarray(report["confusion_matrix"]["matrix"], dtype=float)
    size = matrix.shape[0] * cell
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    top = matrix.max() or 1.0
    for row in range(matrix.shape[0]):
        for col in range(matrix.shape[1]):
            shade = int(235 - 175 * matrix[row, col] / top)
            y0, x0 = row * cell, col * cell
            image[y0 : y0 + cell, x0 : x0 + cell] = (shade, shade, shade)
            text = str(int(matrix[row, col]))
            colour = (255, 255, 255) if shade < 140 else (0, 0, 0)
            cv2.putText(
                image, text, (x0 + 8, y0 + cell // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 1
            )
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("PNG encoding failed")
    return data.tobytes()
