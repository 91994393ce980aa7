"""The web layer: thin blueprints, one per feature, registered in one place with the
error pages and template filters (:mod:`webapp.web.errors`)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
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
