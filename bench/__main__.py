"""``python -m bench``: run the suite, print the Markdown table, write JSON/Markdown/PNG.

    python -m bench                      # embedded defaults (SQLite file, in-memory layer)
    python -m bench --redis              # ... and again with a real redis-server
    python -m bench --redis --postgres   # ... and again with Redis and PostgreSQL, on one
                                         #     worker process and then on two
    python -m bench --server daphne      # ... on daphne, what runserver uses
    python -m bench --quick              # the smoke run the test suite uses
    python -m bench --only-storm         # P2 alone: S0, S1 and S2 connection storms

The second configuration is started by the bench itself (redis-server on a free port; a
throwaway PostgreSQL cluster, or ``DATABASE_URL`` when it is set).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def _counts(value: str) -> list[int]:
    counts = [int(x) for x in value.split(",")]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("positive integers, comma-separated")
    return counts


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny loads, a few seconds per phase (smoke test)")
    parser.add_argument("--redis", action="store_true",
                        help="also run with channels_redis on a redis-server the bench starts")
    parser.add_argument("--postgres", action="store_true",
                        help="also run on PostgreSQL (DATABASE_URL, or a cluster the bench "
                             "starts)")
    parser.add_argument("--only-scale-out", action="store_true",
                        help="skip the embedded configuration (with --redis/--postgres)")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn",
                        help="ASGI server for S1/S2 (default: uvicorn, the production "
                             "command of docs/deploy.md; daphne is what runserver uses)")
    parser.add_argument("--rates", type=lambda v: [int(x) for x in v.split(",")],
                        help="P1 ladder rates in msg/s, comma-separated "
                             "(default 100,250,500,750,1000)")
    parser.add_argument("--step-seconds", type=float,
                        help="measured seconds per ladder step (default 10)")
    parser.add_argument("--agents", type=int,
                        help="agent sockets in the chat ladder (default 4)")
    parser.add_argument("--chat-only", action="store_true",
                        help="only the P1 chat ladder (no S0/S1, storm, HTTP or widget): "
                             "a short run to measure a change of the message path")
    parser.add_argument("--profile", action="store_true",
                        help="record the server with py-spy during the chat ladder, ping, "
                             "identify and the S2 and S1 storms "
                             "(needs `pip install py-spy`)")
    parser.add_argument("--only-http", action="store_true",
                        help="run only P3 (bare view, ping, identify): about 30 s per "
                             "configuration")
    parser.add_argument("--only-storm", action="store_true",
                        help="measure only P2, the connection storm, on S0, S1 and S2")
    parser.add_argument("--workers", type=_counts,
                        help="worker processes for the --redis configuration, comma-"
                             "separated, each measured as its own configuration (default "
                             "1,2 with --redis --postgres, else 1): the ladder and P3 with "
                             "the sockets and requests spread over the workers' ports")
    parser.add_argument("--database-threads", type=_counts,
                        help="CHATWIDGET['DATABASE_THREADS'] for the --postgres "
                             "configuration, comma-separated, each measured as its own "
                             "configuration (default: the app's default)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    # Children (servers, load generators, fixtures) import bench and tests from here.
    root = Path(__file__).resolve().parent.parent
    os.chdir(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))

    from . import report
    from .suite import QUICK, Config, Plan, Run

    configs = [] if args.only_scale_out else [Config("embedded")]
    workers = args.workers or ([1, 2] if args.redis and args.postgres else [1])
    if max(workers) > 1 and not args.redis:
        print("--workers above 1 needs --redis: the in-memory layer never leaves its process",
              file=sys.stderr)
        return 2
    if args.database_threads and not args.postgres:
        print("--database-threads needs --postgres (SQLite always uses one thread)",
              file=sys.stderr)
        return 2
    if args.redis or args.postgres:
        name = "+".join(n for n, on in (("redis", args.redis), ("postgres", args.postgres)) if on)
        for threads in args.database_threads or [None]:
            for count in workers:
                suffix = "" if count == 1 else f"-{count}workers"
                if threads is not None:
                    suffix += f"-threads{threads}"
                configs.append(Config(name + suffix, redis=args.redis, postgres=args.postgres,
                                      workers=count, database_threads=threads))
    if not configs:
        print("--only-scale-out needs --redis and/or --postgres", file=sys.stderr)
        return 2
    # Outputs of an earlier run (a profile of another configuration) must not pass for ours.
    for stale in ("results.json", "results.md", "latency.png", "profile-*.txt", "profile-*.log",
                  "server-*.log"):
        for path in args.out.glob(stale):
            path.unlink()
    plan = QUICK if args.quick else Plan()
    if args.rates:
        plan = replace(plan, rates=args.rates)
    if args.step_seconds:
        plan = replace(plan, step_s=args.step_seconds)
    if args.agents:
        plan = replace(plan, agents=args.agents)
    run = Run(plan, configs, asgi_server=args.server,
              profile_dir=args.out if args.profile else None, log_dir=args.out,
              only_http=args.only_http, chat_only=args.chat_only,
              only_storm=args.only_storm)
    results = report.enrich(run.execute())
    paths = report.write(results, args.out)
    print(Path(paths["markdown"]).read_text())
    print("Wrote " + ", ".join(paths.values()), file=sys.stderr)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
