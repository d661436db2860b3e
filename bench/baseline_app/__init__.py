"""Bench-only reference endpoints, installed only when COACHHUB_BENCH=1 (bench/run.py sets it).

Never installed in development, tests or production: see coachhub/settings.py and urls.py."""
