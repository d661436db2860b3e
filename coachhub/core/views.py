"""Operations endpoints."""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from .tasks import HEARTBEAT_KEY


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    checks = {}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    beat = None
    try:
        cache.set("readyz:ping", 1, timeout=10)
        checks["redis"] = "ok"
        beat = cache.get(HEARTBEAT_KEY)
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    max_age = settings.HEARTBEAT_INTERVAL * 4
    if beat is None:
        checks["worker"] = "error: no heartbeat yet"
    elif time.time() - beat > max_age:
        checks["worker"] = f"error: last heartbeat {int(time.time() - beat)} s ago"
    else:
        checks["worker"] = "ok"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
