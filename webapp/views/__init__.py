"""The web layer: thin blueprints and the error pages, registered in one place."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    from webapp.views import admin, browse, extract, labelling, public, training, versions

    public.init_app(app)
    app.register_blueprint(admin.bp)
    app.register_blueprint(labelling.bp)
    app.register_blueprint(labelling.api)
    app.register_blueprint(browse.bp)
    app.register_blueprint(training.bp)
    app.register_blueprint(training.api)
    app.register_blueprint(versions.bp)
    app.register_blueprint(extract.bp)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """Errors as JSON under /api/, as a page elsewhere; never a stack trace."""
        if request.path.startswith("/api/"):
            return {"error": error.description}, error.code
        return render_template("error.html", error=error), error.code
