"""Test settings: the suite connects as the owner (who creates the test database and runs
migrations) and every test then switches to the runtime role with ``SET ROLE`` (see
tests/conftest.py), so a missing RLS policy or grant fails a test."""

import os

from .settings import *  # noqa: F403
from .settings import DATABASE_OWNER, DATABASES, REDIS_KEY_PREFIX

DATABASES["default"].update({k: DATABASE_OWNER[k] for k in ("USER", "PASSWORD", "HOST", "PORT")})
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEBUG = False
CELERY_TASK_ALWAYS_EAGER = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# One Celery queue per test session: the real worker that tests/worker.py starts serves only
# this session's messages (parallel sessions, xdist workers and stale messages of a killed run
# cannot cross, nor can a `make run` worker steal them: CELERY_QUEUE is deliberately not read).
# tests/worker.py hands the same name to the worker as CELERY_QUEUE.
CELERY_TASK_DEFAULT_QUEUE = f"{REDIS_KEY_PREFIX}-test-{os.getpid()}"
