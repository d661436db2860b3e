import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings")
application = get_wsgi_application()


def _freeze_startup_objects() -> None:
    """Load the URL patterns (and with them every view module) now, then move everything the
    process has allocated so far into the collector's permanent generation. Those objects
    live as long as the process, yet a full collection walked all ~130,000 of them: a 65 ms
    pause in the middle of a request every few dozen pages (measured on the dashboard), 4 ms
    once frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and its views
    gc.collect()
    gc.freeze()


_freeze_startup_objects()
