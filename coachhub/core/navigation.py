"""The sidebar, as data: apps register entries and the layout shows each member what their role
(and capabilities) may use. base.html never needs editing to add a page.

Apps register from their ``AppConfig.ready()``::

    from coachhub.core.navigation import NavItem, nav_register
    nav_register(NavItem("feedback", "Feedback", "feedback_stream", icon="message-2",
                         roles=STAFF, order=20))

``url_name`` is reversed with ``org=<slug>`` (every organization page lives under /o/<org>/).
Hiding an entry is a convenience, not a permission: every view still checks access itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

from coachhub.tenancy.models import Role

ALL_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT})
STAFF = frozenset({Role.ADMIN, Role.SUPERVISOR})
ADMIN = frozenset({Role.ADMIN})
AGENT = frozenset({Role.AGENT})

# Sections in the order they appear; entries of a section without a heading come first.
SECTIONS = {"main": "", "manage": "Manage", "account": "You"}


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url_name: str
    icon: str = "circle"  # a Tabler icon name (without the ``ti-`` prefix)
    roles: frozenset = ALL_ROLES
    order: int = 100
    section: str = "main"
    # Extra condition on the member, e.g. ``lambda m: m.is_reviewer`` for a QA queue.
    when: Callable | None = field(default=None, compare=False)
    # Active when the path starts with the entry's URL; ``exact`` for the organization home.
    exact: bool = False


_registry: dict[str, NavItem] = {}


def nav_register(item: NavItem) -> NavItem:
    """Add (or replace, by key) an entry. Idempotent, so re-running ready() is harmless."""
    _registry[item.key] = item
    return item


def nav_items() -> list[NavItem]:
    return sorted(
        _registry.values(), key=lambda i: (list(SECTIONS).index(i.section), i.order, i.label)
    )


@lru_cache(maxsize=4096)
def _org_url(url_name: str, slug: str, prefix: str, urlconf) -> str:
    """``reverse`` of an organization page, remembered: the sidebar reverses ~25 entries on
    every page (about 1 ms); the answer depends only on these arguments (the script prefix
    and the URLconf in use are part of the key)."""
    return reverse(url_name, kwargs={"org": slug}, urlconf=urlconf)


def nav_for(member, path: str = "") -> list[dict]:
    """Sections with their entries for this member: ``[{"title", "items": [...]}, ...]``."""
    if member is None:
        return []
    slug = member.organization.slug
    sections: dict[str, list[dict]] = {}
    matching: list[dict] = []
    for item in nav_items():
        if member.role not in item.roles or (item.when and not item.when(member)):
            continue
        try:
            url = _org_url(item.url_name, slug, get_script_prefix(), get_urlconf())
        except NoReverseMatch:
            continue  # an app registered an entry for a page it has not shipped yet
        entry = {"key": item.key, "label": item.label, "url": url, "icon": item.icon}
        entry["active"] = False
        if path == url if item.exact else path.startswith(url):
            matching.append(entry)
        sections.setdefault(item.section, []).append(entry)
    if matching:  # one entry lit: the most specific (/recognition/behaviours/ over /recognition/)
        max(matching, key=lambda e: len(e["url"]))["active"] = True
    return [{"title": SECTIONS.get(name, name), "items": items} for name, items in sections.items()]


# The foundation's own pages. Later issues add theirs from their apps.
for _item in (
    NavItem("home", "Home", "org_home", icon="home", order=0, exact=True),
    NavItem(
        "teams", "Teams", "team_list", icon="users-group", roles=STAFF, order=10, section="manage"
    ),
    NavItem(
        "people", "People", "people_list", icon="users", roles=ADMIN, order=20, section="manage"
    ),
    NavItem(
        "api_keys", "API keys", "api_key_list", icon="key", roles=ADMIN, order=30, section="manage"
    ),
    NavItem(
        "settings",
        "Settings",
        "org_settings",
        icon="settings",
        roles=ADMIN,
        order=40,
        section="manage",
    ),
    NavItem("profile", "My profile", "my_profile", icon="user-circle", order=10, section="account"),
    NavItem(
        "notifications",
        "Notifications",
        "notification_list",
        icon="bell",
        order=20,
        section="account",
    ),
):
    nav_register(_item)
