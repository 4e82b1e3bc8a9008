"""Episodes per second of Ray-sharded evaluation against the local run, in one process.

Starts a local Ray head node on loopback (``asynctool cluster up``'s code) with 1 and then 2
CPUs, plays the same episodes with ``evaluate_ray`` and with the local
``benchmark.evaluate``, checks that the records are identical, and prints the rates and
their ratio to the local run (measured just before each, as machines are noisy).

Run: ``python benchmarks/ray_eval_speed.py [--agent critical_path] [--episodes 240]``
(needs the ``ray`` extra).
"""

from __future__ import annotations

import argparse
import time

from asynctool_env.benchmark import EvalConfig, evaluate
from asynctool_env.chat.local import free_port
from asynctool_env.distributed import cluster_down, cluster_up, evaluate_ray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="critical_path")
    parser.add_argument("--episodes", type=int, default=720)
    parser.add_argument("--chunk", type=int, default=32)
    args = parser.parse_args()
    import ray

    config = EvalConfig(split="test", episodes=args.episodes)
    rows = []
    for cpus in (1, 2):
        evaluate(args.agent, EvalConfig(split="test", episodes=16))  # warm caches
        start = time.perf_counter()
        local = evaluate(args.agent, config)
        local_rate = args.episodes / (time.perf_counter() - start)
        address = cluster_up(port=free_port(), num_cpus=cpus)
        try:
            # Warm every worker (one chunk per CPU at once): imports and the split load.
            warm = EvalConfig(split="test", episodes=cpus * args.chunk)
            evaluate_ray(args.agent, warm, address=address, chunk_size=args.chunk)
            start = time.perf_counter()  # the run itself
            sharded = evaluate_ray(args.agent, config, address=address, chunk_size=args.chunk)
            rate = args.episodes / (time.perf_counter() - start)
        finally:
            ray.shutdown()
            cluster_down()
        same = [r.to_json() for r in sharded] == [r.to_json() for r in local]
        rows.append((cpus, local_rate, rate, same))
    print(f"{args.agent}, {args.episodes} test episodes, chunks of {args.chunk}")
    print(f"{'workers':>8} {'local ep/s':>11} {'ray ep/s':>9} {'ratio':>6} {'identical':>10}")
    for cpus, local_rate, rate, same in rows:
        ratio = rate / local_rate
        print(f"{cpus:>8} {local_rate:>11.1f} {rate:>9.1f} {ratio:>6.2f} {same!s:>10}")


if __name__ == "__main__":
    main()
