"""Extension points other apps plug into without qa/ importing them (they sit to its right).

``review_action_register(fn)``: ``fn(review, viewer) -> dict | None`` adds a button to the review
page, e.g. the real-time issue's "Coach on this" micro-coaching note::

    # coaching/apps.py, in ready()
    from qa.hooks import review_action_register
    review_action_register(lambda review, viewer: {
        "label": "Coach on this", "icon": "message-circle-heart",
        "url": reverse("coaching:note_new", kwargs={...}) + f"?review={review.public_id}",
    } if viewer.is_supervisor or viewer.is_admin else None)

An action with ``"method": "post"`` is a form button instead of a link (the page adds the CSRF
token and ``next``, the review page's path); ``"active": True`` shows it pressed (e.g. "Saved for
1:1", a toggle).

Until an app registers one, the review page shows no such button.
"""

from __future__ import annotations

from collections.abc import Callable

_review_actions: list[Callable] = []


def review_action_register(fn: Callable) -> Callable:
    if fn not in _review_actions:
        _review_actions.append(fn)
    return fn


def review_actions(review, viewer) -> list[dict]:
    actions = []
    for fn in _review_actions:
        action = fn(review, viewer)
        if action:
            actions.append(action)
    return actions
