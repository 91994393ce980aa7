"""Gunicorn settings for Look-alike. Override any of them with LOOKALIKE_BIND /
LOOKALIKE_WORKERS / LOOKALIKE_THREADS / LOOKALIKE_TIMEOUT or gunicorn's own flags."""

import os

wsgi_app = "webapp:create_app()"
bind = os.environ.get("LOOKALIKE_BIND", "127.0.0.1:8000")
# Workers are separate processes: nothing is shared between them but the store and files.
workers = int(os.environ.get("LOOKALIKE_WORKERS", "2"))
# Threads per worker: a client that sends its photo slowly holds one thread, not a whole
# worker, so a few slow clients cannot stop /healthz or other visitors being answered. A
# reverse proxy that buffers request bodies (nginx does by default) removes the problem;
# see docs/deployment.md.
worker_class = "gthread"
threads = int(os.environ.get("LOOKALIKE_THREADS", "4"))
# A worker silent longer than this is restarted: raise it (LOOKALIKE_TIMEOUT) if admins
# upload videos through the browser over slow links, or copy them into the videos folder.
timeout = int(os.environ.get("LOOKALIKE_TIMEOUT", "60"))
keepalive = 5
accesslog = "-"
# Gunicorn 23+ opens a control socket at one fixed path per user: two deployments (or the
# tests' servers) would fight over it, and nothing here uses it.
control_socket_disable = True


def post_worker_init(worker):
    """Load the scoring libraries (OpenCV, scikit-learn) before the worker's first visitor:
    the app itself loads them with its first photo, so that commands start fast."""
    import webapp.operations.selfies  # noqa: F401
