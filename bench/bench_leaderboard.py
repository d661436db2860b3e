"""``make bench B=leaderboard``: the leaderboard page of a 2,000-agent organization on a big
platform against the same page on a small one.

Both platforms come from ``bench/datagen.py`` (cached template databases): the same 1,000
organizations, teams and agents; the 2,000-agent organization holds 10 % of the responses;
only the history's length differs. The page is ``/o/datagen-big/recognition/leaderboards/``
(the default: average stars, the whole organization, the last 30 days — all 2,000 agents,
smoothed, ranked and rendered), signed in as the organization's admin, served by gunicorn as
deployed, one server per platform, measured alternately.

Figure: median server time (p50 latency at 2 connections) on the big platform over the small
one. Goal ≤ 1.5: the page reads its own rollup rows of the period (organization-first index),
so the rest of the platform's history must not slow it down.

Sizes: ``BENCH_LEADERBOARD_RESPONSES`` (default 10,000,000) and
``BENCH_LEADERBOARD_BASE_RESPONSES`` (default 100,000). Building a 10 M platform the first time
takes long (see bench/README.md "Generated platforms" for measured times and sizes); later runs
reuse it.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import urllib.parse
import urllib.request

from bench import datagen
from bench.harness import BenchFailed, Context, Row, note

PATH = f"/o/{datagen.BIG_SLUG}/recognition/leaderboards/"
RESPONSES = int(os.environ.get("BENCH_LEADERBOARD_RESPONSES", 10_000_000))
BASE = int(os.environ.get("BENCH_LEADERBOARD_BASE_RESPONSES", 100_000))
CONNECTIONS = 2


def sign_in(base_url: str) -> str:
    """Sign in as the big organization's admin through the login page; the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base_url}/accounts/login/", timeout=30).read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise BenchFailed("leaderboard: no CSRF token on the login page")
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": match.group(1),
            "username": datagen.ADMIN_EMAIL,
            "password": datagen.PASSWORD,
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/accounts/login/", data=data, headers={"Referer": f"{base_url}/accounts/login/"}
    )
    opener.open(request, timeout=30).read()
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise BenchFailed("leaderboard: signing in as the datagen admin failed")
    body = opener.open(f"{base_url}{PATH}", timeout=60).read().decode()
    if "How the ranking is fair" not in body:
        raise BenchFailed("leaderboard: the page did not render a leaderboard")
    ranked = body.count('<tr class="') + body.count("<tr>")
    note(f"leaderboard page at {base_url}: {len(body) / 1024:.0f} KiB, ~{ranked} rows")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def run(ctx: Context) -> list[Row]:
    small = datagen.ensure(ctx, BASE)
    big = datagen.ensure(ctx, RESPONSES)
    datagen.note_ages(small, big)
    servers = {"small": ctx.server(extra_env=small.env), "big": ctx.server(extra_env=big.env)}
    cookies = {name: sign_in(server.url) for name, server in servers.items()}

    def measure(name):
        return lambda: ctx.load(
            PATH,
            headers={"Cookie": cookies[name]},
            server=servers[name],
            connections=CONNECTIONS,
            label=f"leaderboard page ({name} platform)",
        )

    results = ctx.alternate({"big": measure("big"), "small": measure("small")})
    b, s = results["big"], results["small"]
    label = f"{big.responses / 1e6:g} M vs {small.responses / 1e3:g} k responses"
    return [
        Row(f"leaderboard page p50, {label}", b.p50_ms, "ms", s.p50_ms, max_ratio=1.5),
        Row(f"leaderboard page p99, {label}", b.p99_ms, "ms", s.p99_ms),
        Row(f"leaderboard page req/s, {label}", b.rps, "req/s", s.rps),
        Row("platform size (big / small)", big.bytes / 2**20, "MiB", small.bytes / 2**20),
    ]
