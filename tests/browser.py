"""Shared helpers for Playwright browser tests (marked ``@pytest.mark.browser``).

They drive Debian's Chromium (``apt-get install chromium``); Playwright never downloads a
browser here. Every page a test visits goes through ``assert_accessible``: axe-core (shipped by
axe-playwright-python) must find no serious or critical violation.
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


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
