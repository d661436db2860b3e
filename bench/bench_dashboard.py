"""``make bench B=dashboard``: the KPI dashboard's server time on a big platform against the same
page on a small one, for the large organization and for a typical one.

Both platforms come from ``bench/datagen.py`` (cached template databases, shared with the
leaderboard benchmark): the same 1,000 organizations, teams and agents; ``datagen-big`` (2,000
agents, 100 teams) holds 10 % of the responses; only the history's length differs. Pages:
``/o/<org>/feedback/insights/`` (last 30 days: tiles with the previous period, the daily series,
star distribution, the team table and the agent table) signed in as the organization's admin
(the generator gives the typical organization ``datagen-0001`` an admin too),
served by gunicorn as deployed, one server per platform.

Server time: sequential requests over one keep-alive connection (no queueing in the figure),
``SAMPLES`` per page after a warm-up, p50 and p95. Goals: p95 ≤ 100 ms, and p95 on the big
platform ≤ 1.5 × the same page on the small one (the dashboard reads its own rollup rows through
organization-first indexes, so the rest of the platform's history must not slow it down).

Sizes: ``BENCH_DASHBOARD_RESPONSES`` (default 10,000,000) and ``BENCH_DASHBOARD_BASE_RESPONSES``
(default 100,000); see bench/README.md "Generated platforms" for build times and sizes.
"""

from __future__ import annotations

import http.client
import os
import statistics
import time
import urllib.parse

from bench import datagen
from bench.harness import BenchFailed, Context, Row, note

RESPONSES = int(os.environ.get("BENCH_DASHBOARD_RESPONSES", 10_000_000))
BASE = int(os.environ.get("BENCH_DASHBOARD_BASE_RESPONSES", 100_000))
SAMPLES = int(os.environ.get("BENCH_DASHBOARD_SAMPLES", 200))
WARMUP = 20
TYPICAL_SLUG = datagen.TYPICAL_SLUG
TYPICAL_ADMIN = datagen.TYPICAL_ADMIN_EMAIL
GOAL_P95_MS = 100.0


def sign_in(base_url: str, email: str) -> str:
    import http.cookiejar
    import re
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base_url}/accounts/login/", timeout=30).read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise BenchFailed("dashboard: no CSRF token on the login page")
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1), "username": email, "password": datagen.PASSWORD}
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/accounts/login/", data=data, headers={"Referer": f"{base_url}/accounts/login/"}
    )
    opener.open(request, timeout=30).read()
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise BenchFailed(f"dashboard: signing in as {email} failed")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def server_times(base_url: str, path: str, cookie: str, samples: int) -> list[float]:
    """Milliseconds per request, sequential over one keep-alive connection."""
    u = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    headers = {"Cookie": cookie}
    out = []
    try:
        for i in range(WARMUP + samples):
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            ms = (time.perf_counter() - t0) * 1000
            if resp.status != 200 or b"kpi-tiles" not in body:
                raise BenchFailed(f"dashboard: {path} answered {resp.status}")
            if i >= WARMUP:
                out.append(ms)
    finally:
        conn.close()
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run(ctx: Context) -> list[Row]:
    small = datagen.ensure(ctx, BASE)
    big = datagen.ensure(ctx, RESPONSES)
    datagen.note_ages(small, big)
    servers = {"small": ctx.server(extra_env=small.env), "big": ctx.server(extra_env=big.env)}
    pages = {
        "large org": (f"/o/{datagen.BIG_SLUG}/feedback/insights/?period=30", datagen.ADMIN_EMAIL),
        "typical org": (f"/o/{TYPICAL_SLUG}/feedback/insights/?period=30", TYPICAL_ADMIN),
    }
    times: dict[tuple[str, str], list[float]] = {}
    for page, (path, email) in pages.items():
        cookies = {name: sign_in(s.url, email) for name, s in servers.items()}
        for _ in range(max(1, ctx.rounds)):
            for name in ("big", "small"):  # alternate: drift hits both
                t = server_times(servers[name].url, path, cookies[name], SAMPLES)
                times.setdefault((page, name), []).extend(t)
                note(
                    f"dashboard {page} on {name}: p50 {pct(t, 50):.1f} ms, p95 {pct(t, 95):.1f} ms"
                )
    label = f"{big.responses / 1e6:g} M vs {small.responses / 1e3:g} k responses"
    rows = []
    for page in pages:
        b, s = times[(page, "big")], times[(page, "small")]
        rows += [
            Row(f"dashboard {page} p50, {label}", statistics.median(b), "ms", statistics.median(s)),
            Row(f"dashboard {page} p95, {label}", pct(b, 95), "ms", pct(s, 95), max_ratio=1.5),
            Row(
                f"dashboard {page} p95 on {big.responses / 1e6:g} M vs the 100 ms goal",
                pct(b, 95),
                "ms",
                GOAL_P95_MS,
                max_ratio=1.0,
            ),
        ]
    rows.append(Row("platform size (big / small)", big.bytes / 2**20, "MiB", small.bytes / 2**20))
    return rows
