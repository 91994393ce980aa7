"""What the browser tests share: Debian's chromium driven by Playwright, a live server,
axe-core's accessibility check, and screenshots for the README.

Playwright never downloads a browser here: it drives /usr/bin/chromium (./test.sh installs
it). axe-core comes from the npm registry into .cache/axe (./test.sh installs it too).
Screenshots go to the test's temporary folder; with LOOKALIKE_SCREENSHOTS=1 they replace
the README's pictures in docs/ instead.
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

AXE_JS = PROJECT_ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"

# Skipped only outside CI: in CI a missing browser must fail the run, not hide the tests.
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium (./test.sh installs it)",
)
needs_axe = pytest.mark.skipif(
    not AXE_JS.exists() and not os.environ.get("CI"),
    reason="needs axe-core in .cache/axe (./test.sh installs it with npm)",
)

# Phone widths the public pages must fit without sideways scrolling: from a small
# Android phone to a large iPhone.
PHONE_WIDTHS = (360, 390, 430)
MIN_TAP_TARGET = 44  # CSS pixels each way (WCAG 2.5.5, Apple's and Google's guidelines)


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
def browser_page(
    width: int = 1000, height: int = 900, *, phone: bool = False, **options
) -> Iterator:
    """A fresh page in headless Debian chromium; ``phone``: a touch screen (no mouse), as
    a phone's browser reports it. ``options`` go to the browser context."""
    from playwright.sync_api import sync_playwright

    if phone:
        options = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2, **options}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, **options)
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


def axe_problems(page) -> list[str]:
    """The serious and critical accessibility violations axe-core finds on the page, one
    line each (rule, what is wrong, where)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which a Content-Security-Policy of the
        # page does not restrict (a <script> tag added to the page would be).
        page.evaluate(AXE_JS.read_text())
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at"
        f" {', '.join(str(node['target']) for node in v['nodes'][:5])}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def sideways_scroll(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


SMALL_TAP_TARGETS = """(min) => {
  const problems = [];
  const controls = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, label.button");
  for (const control of controls) {
    // A file input covered by its label (the button the visitor sees) is measured as it.
    const target = control.closest("label.button") || control;
    if (!target.checkVisibility({visibilityProperty: true, opacityProperty: false})) continue;
    const box = target.getBoundingClientRect();
    if (box.width < min || box.height < min) {
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      problems.push(`${target.outerHTML.slice(0, 80)}: ${size}`);
    }
  }
  return problems;
}"""


def small_tap_targets(page) -> list[str]:
    """The visible links, buttons and fields smaller than MIN_TAP_TARGET either way."""
    return page.evaluate(SMALL_TAP_TARGETS, MIN_TAP_TARGET)


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
