"""The selfie path's face finding before its cheap first look, for the benchmarks to
compare with the app's (``benchmarks/score.py``, ``benchmarks/faces.py``): the cascade on
a 400 px copy, a pyramid level per 10% of face size, 5 votes, every box verified, then
the second pass without the denser look (which is this same cascade).

Also a WSGI entry for score.py's gunicorn run, ``gunicorn --pythonpath benchmarks
'previous_detection:create_app()'``: the product app whose workers find faces this way.
The app has no setting for it; each worker builds the app and puts this finder where the
public page keeps its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp import create_app as create_product_app
from webapp.vision.faces import DetectorSettings, FaceDetector
from webapp.vision.find import FaceFinder, SecondPass, shared_verifier

if TYPE_CHECKING:
    from flask import Flask

PREVIOUS_DETECTOR = DetectorSettings(detect_width=400, scale_factor=1.1, min_neighbors=5)
# Where webapp/web/public.py keeps a process's selfie finder.
FINDER_KEY = "lookalike.selfie_finder"


def previous_finder() -> FaceFinder:
    return FaceFinder(FaceDetector(PREVIOUS_DETECTOR), shared_verifier(), SecondPass())


def use_previous_finder(app: Flask) -> Flask:
    """``app`` finding visitors' faces the previous way."""
    app.extensions[FINDER_KEY] = previous_finder()
    return app


def create_app() -> Flask:
    return use_previous_finder(create_product_app())
