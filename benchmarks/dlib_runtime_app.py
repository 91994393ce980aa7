"""The app with its face ResNet on dlib's own runtime, for ``benchmarks/score.py``'s gunicorn
run: ``gunicorn --pythonpath benchmarks 'dlib_runtime_app:create_app()'``.

The product has no setting for this (onnxruntime gives the same descriptors, faster); each
worker imports this module and chooses the runtime before it builds the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp import create_app as create_product_app
from webapp.learn.features import embeddings

if TYPE_CHECKING:
    from flask import Flask


def create_app() -> Flask:
    embeddings.use_runtime("dlib")
    return create_product_app()
