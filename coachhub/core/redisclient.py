"""The app's own Redis client (beside Django's cache, same server) and Lua scripts run on it."""

from __future__ import annotations

import functools

import redis
from django.core.cache import cache


@functools.cache
def redis_client() -> redis.Redis:
    """A redis-py client on the pool of Django's cache (same server, same settings), made once
    per process: ``RedisCache`` builds a new client object on every call, which costs more
    than the round trip on the hot ingest path. The pool handles forks and reconnects."""
    return redis.Redis(connection_pool=cache._cache._get_connection_pool(write=True))


class LuaScript:
    """A Lua script run as one command (EVALSHA, loaded on first use): several writes in one
    round trip and one command to encode, where a pipeline of them cost the API call more CPU
    in redis-py than the trip itself."""

    def __init__(self, source: str):
        self.source = source
        self._script = None

    def script(self, client):
        if self._script is None:
            self._script = client.register_script(self.source)
        return self._script
