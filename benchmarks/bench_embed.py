"""The embedding engine's speed on this machine: one query, and profiles in bulk, idle and
while other processes keep every core busy — with the threading the app sets
(`OMP_WAIT_POLICY=passive`, one thread in a web worker) against the engine's default
(OpenMP's spinning wait, a thread per core). Each setting runs in a fresh process, since
OpenMP reads its environment once.

    .venv/bin/python -m benchmarks.bench_embed [--queries 40] [--profiles 256]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

QUERIES = [
    "涤丝领带一过熨斗就发亮",
    "电动机一开，配电箱的空气开关就跳",
    "灶头的火苗是黄的，还冒黑烟，锅底熏一层黑",
    "外墙砖过一冬冒白花",
    "手工年糕做好第三天就长绿毛",
]
PROFILE = "研究方向：纺织品功能整理；抗皱免烫整理。简介：长期从事真丝抗皱整理研究，服务企业 {n} 项"


def _busy(stop_at: float) -> None:
    while time.monotonic() < stop_at:
        pass


def measure(queries: int, profiles: int) -> dict[str, float]:
    """In this process, with the environment it was started with."""
    from crm.text import embed

    started = time.perf_counter()
    embed.engine(int(os.environ.get("BENCH_THREADS", "1")))
    load = time.perf_counter() - started
    embed.embed_query("预热")
    times = []
    for i in range(queries):
        started = time.perf_counter()
        embed.embed_query(QUERIES[i % len(QUERIES)])
        times.append((time.perf_counter() - started) * 1000)
    texts = [PROFILE.format(n=i) for i in range(profiles)]
    started = time.perf_counter()
    embed.embed(texts)
    bulk = time.perf_counter() - started
    times.sort()
    return {
        "load_s": load,
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "profiles_per_s": profiles / bulk,
    }


def run(env: dict[str, str], queries: int, profiles: int, busy: int) -> dict[str, float]:
    stop_at = time.monotonic() + 600
    hogs = [multiprocessing.Process(target=_busy, args=(stop_at,)) for _ in range(busy)]
    for hog in hogs:
        hog.start()
    try:
        out = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "benchmarks.bench_embed",
                "--child",
                str(queries),
                str(profiles),
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        )
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--profiles", type=int, default=256)
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    cores = os.cpu_count() or 1
    settings = {
        "ours (passive wait, 1 thread)": {
            "OMP_WAIT_POLICY": "passive",
            "OMP_NUM_THREADS": "1",
            "BENCH_THREADS": "1",
        },
        f"ours for `crm embed` (passive, {cores} threads)": {
            "OMP_WAIT_POLICY": "passive",
            "OMP_NUM_THREADS": str(cores),
            "BENCH_THREADS": str(cores),
        },
        f"engine default (spinning wait, {cores} threads)": {
            "OMP_WAIT_POLICY": "active",
            "OMP_NUM_THREADS": str(cores),
            "BENCH_THREADS": str(cores),
        },
    }
    print(f"{cores} cores; {args.queries} queries, {args.profiles} profiles a setting")
    for label, env in settings.items():
        for busy in (0, cores):
            r = run(env, args.queries, args.profiles, busy)
            load = "idle" if not busy else f"{busy} busy processes"
            print(
                f"  {label:<44} {load:<17} query p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms"
                f"  bulk {r['profiles_per_s']:5.1f} profiles/s  load {r['load_s']:.2f} s"
            )


if __name__ == "__main__":
    main()
