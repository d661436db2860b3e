"""Which database role does what.

Requests and tasks connect as the runtime role (DATABASE_URL): no superuser, no BYPASSRLS,
not the tables' owner. Schema changes run as the owner (DATABASE_OWNER_URL)."""

from django.conf import settings
from django.db import connections

# Not NAME: owner and runtime use the same database, and under tests NAME is the test database.
OWNER_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


def use_owner_role(alias: str = "default") -> None:
    """Reconnect ``alias`` with the owner's credentials (for migrate and maintenance)."""
    owner = settings.DATABASE_OWNER
    conn = connections[alias]
    if all(conn.settings_dict.get(k) == owner.get(k) for k in OWNER_KEYS):
        return
    conn.close()
    for key in OWNER_KEYS:
        conn.settings_dict[key] = owner.get(key)
