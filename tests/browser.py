"""What the browser tests share: Debian's chromium driven by Playwright, a live server, and
screenshots for the README.

Playwright never downloads a browser here: it drives /usr/bin/chromium (./test.sh installs
it). Screenshots go to the test's temporary folder; with LOOKALIKE_SCREENSHOTS=1 they
replace the README's pictures in docs/ instead.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from webapp import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Skipped only outside CI: in CI a missing browser must fail the run, not hide the tests.
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium (./test.sh installs it)",
)


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free local port in a thread; yield its base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=10)


@contextmanager
def browser_page(width: int = 1000, height: int = 900) -> Iterator:
    """A fresh page in headless Debian chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            yield context.new_page()
        finally:
            browser.close()


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    """Poll a JavaScript expression in the page until it is true.

    Playwright's ``wait_for_function`` evaluates its predicate with ``eval`` on each poll,
    which the app's Content-Security-Policy refuses (no ``'unsafe-eval'``, as it should);
    ``page.evaluate`` goes through the browser's debugging protocol, which CSP does not
    govern.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)


def log_in_through_the_page(page, base: str, path: str, name: str, password: str) -> None:
    """Open ``path`` logged out, check it sends to the login page, log in, land on it."""
    page.goto(f"{base}{path}")
    assert "/admin/login" in page.url
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_url(f"{base}{path}")


def save_screenshot(page, name: str, tmp_path: Path) -> Path:
    """Screenshot the whole page as ``name``: into docs/ when LOOKALIKE_SCREENSHOTS=1."""
    folder = PROJECT_ROOT / "docs" if os.environ.get("LOOKALIKE_SCREENSHOTS") else tmp_path
    folder.mkdir(exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path
