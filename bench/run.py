"""Run CoachHub benchmarks: ``bench/run.py [name ...]`` (``make bench [B=name]``).

Each ``bench/bench_<name>.py`` exposes ``run(ctx) -> list[Row]``. For every benchmark this
prints its table, one row per figure::

    <figure> | <value> <unit> | <baseline value> <unit> | ratio <r>

and, last, ``bench <name>: ok`` or ``bench <name>: FAILED <why>``. The exit code is non-zero
when any benchmark failed. Progress notes go to stderr; stdout holds only tables and verdicts.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import BenchFailed, Context, Row  # noqa: E402

FIRST = ["baseline"]  # the reference runs first when running everything


def available() -> list[str]:
    names = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    return [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]


def run_one(name: str, ctx: Context) -> bool:
    print(f"== bench {name} ==", flush=True)
    try:
        module = importlib.import_module(f"bench.bench_{name}")
        rows = module.run(ctx)
        if not isinstance(rows, list) or not all(isinstance(r, Row) for r in rows):
            raise BenchFailed("run(ctx) must return a list of bench.harness.Row")
        for row in rows:
            print(row.line(), flush=True)
        missed = [m for m in (row.goal_missed() for row in rows) if m]
        if missed:
            raise BenchFailed("; ".join(missed))
    except BenchFailed as exc:
        reason = str(exc).strip()
        first, _, detail = reason.partition("\n")
        if detail:
            print(detail, file=sys.stderr)
        print(f"bench {name}: FAILED {first}", flush=True)
        return False
    except Exception as exc:  # a crash fails this benchmark, not the others
        traceback.print_exc(file=sys.stderr)
        print(f"bench {name}: FAILED {type(exc).__name__}: {exc}".splitlines()[0], flush=True)
        return False
    print(f"bench {name}: ok", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("BENCH_DURATION", 10)),
        help="seconds per measured load run (default 10, env BENCH_DURATION)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=int(os.environ.get("BENCH_CONNECTIONS", 8)),
        help="concurrent connections (default 8, env BENCH_CONNECTIONS)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=float(os.environ.get("BENCH_WARMUP", 2)),
        help="warm-up seconds before each load run (default 2)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", 1)),
        help="alternate each compared pair of loads this many times, report medians (default 1)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="drop and re-create the bench database"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    names = available()
    if args.list:
        print("\n".join(names))
        return 0
    chosen = args.names or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2

    # SIGTERM (e.g. make interrupted) unwinds like Ctrl-C so servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    ctx = Context(
        duration=args.duration,
        connections=args.connections,
        warmup=args.warmup,
        fresh=args.fresh,
        rounds=args.rounds,
    )
    failed = []
    try:
        try:
            ctx.prepare()
        except BenchFailed as exc:
            first, _, detail = str(exc).partition("\n")
            if detail:
                print(detail, file=sys.stderr)
            for name in chosen:
                print(f"bench {name}: FAILED set-up: {first}", flush=True)
            return 1
        for name in chosen:
            if not run_one(name, ctx):
                failed.append(name)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        ctx.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
