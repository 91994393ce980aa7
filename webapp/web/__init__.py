"""The web layer: thin blueprints, one per feature, registered in one place with the
error pages and template filters (:mod:`webapp.web.errors`)."""

from __future__ import annotations

import io
from typing import IO

from flask import Flask, Request


class InMemoryRequest(Request):
    """Uploaded files are kept in memory, never spooled to a temporary file: a visitor's
    photo never touches the disk. MAX_CONTENT_LENGTH bounds the memory; the admin's video
    upload streams into the videos folder with a parser of its own."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


def init_app(app: Flask) -> None:
    app.request_class = InMemoryRequest
    from webapp.web import (
        admin,
        auth,
        browse,
        dashboard,
        errors,
        extract,
        headers,
        helpers,
        labelling,
        models,
        public,
    )

    # Before any blueprint: a rule takes its converters when it is added.
    app.url_map.converters["int"] = helpers.StoreIntConverter
    auth.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    public.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(labelling.bp)
    app.register_blueprint(labelling.api)
    app.register_blueprint(browse.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(dashboard.api)
    app.register_blueprint(models.bp)
    app.register_blueprint(extract.bp)
