"""The selfie path's face finding before its cheap first look, for the benchmarks to
compare with the app's (``benchmarks/score.py``, ``benchmarks/faces.py``): the cascade on
a 400 px copy, a pyramid level per 10% of face size, 5 votes, every box verified, then
the second pass without the denser look (which is this same cascade). The app still finds
faces this way for eigenfaces models (``SelfieFinders.dense``); face embeddings models get
the cheap first look.

Also a WSGI entry for score.py's gunicorn run, ``gunicorn --pythonpath benchmarks
'previous_detection:create_app()'``: the product app whose workers find faces this way
for every model. The app has no setting for it; each worker builds the app and puts these
finders where the public page keeps its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp import create_app as create_product_app
from webapp.operations.selfies import SelfieFinders, selfie_finders
from webapp.vision.find import FaceFinder

if TYPE_CHECKING:
    from flask import Flask

# Where webapp/web/public.py keeps a process's selfie finders.
FINDERS_KEY = "lookalike.selfie_finders"


def previous_finder() -> FaceFinder:
    return selfie_finders().dense


def use_previous_finder(app: Flask) -> Flask:
    """``app`` finding visitors' faces the previous way, whatever the model's extractor."""
    previous = previous_finder()
    app.extensions[FINDERS_KEY] = SelfieFinders(cheap=previous, dense=previous)
    return app


def create_app() -> Flask:
    return use_previous_finder(create_product_app())
