"""Extension points for apps and issues that come later.

``recovery_opener_set(fn)``: ``fn(alert, member) -> str`` opens a service-recovery case for an
alert and returns the URL to go to. The service-recovery issue registers it; until then the
alert page's "Open a recovery case" button says the workflow is not available yet.
"""

from __future__ import annotations

from collections.abc import Callable

_recovery_opener: list[Callable] = []


def recovery_opener_set(fn: Callable) -> Callable:
    _recovery_opener[:] = [fn]
    return fn


def recovery_opener() -> Callable | None:
    return _recovery_opener[0] if _recovery_opener else None
