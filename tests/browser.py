"""Shared helpers for Playwright browser tests (marked ``@pytest.mark.browser``).

They drive Debian's Chromium (``apt-get install chromium``); Playwright never downloads a
browser here. Every page a test visits goes through ``assert_accessible``: axe-core (shipped by
axe-playwright-python) must find no serious or critical violation. ``tests/conftest.py`` points
pytest-playwright at that Chromium and fails (never skips) a browser test when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"  # git-ignored
BLOCKING_IMPACTS = {"serious", "critical"}


def launch_args(base: dict) -> dict:
    return {**base, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def assert_accessible(page, label: str = "") -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    if blocking:
        lines = []
        for v in blocking:
            targets = ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:5])
            lines.append(f"{v['impact']}: {v['id']} — {v['help']} [{targets}]")
        raise AssertionError(f"axe on {label or page.url}:\n" + "\n".join(lines))


def visit(page, url: str | None, label: str) -> None:
    """Go to ``url`` (or stay, when None), let htmx settle, and run axe on what is shown."""
    if url:
        page.goto(url)
    page.wait_for_load_state("networkidle")
    assert_accessible(page, label)


def sign_in(page, base: str, email: str, password: str) -> None:
    """Sign in through the real login form, in a fresh cookie jar."""
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
