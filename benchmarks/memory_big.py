"""Peak memory of a big graph: a chain y = (y * 1.0001).tanh() of N steps (2N nodes).

    python benchmarks/memory_big.py              # N = 500,000: a 1,000,000-node graph
    python benchmarks/memory_big.py --steps 1000000

Reports Python-heap bytes per node (tracemalloc) after the forward pass and
at the peak of forward + backward, and the process's max resident size.
tracemalloc slows Python down ~2x, so no times are reported here (see run.py).
"""
from __future__ import annotations

import argparse
import resource
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import Value, gc_paused, topological_order  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500_000, help="chain steps (2 nodes each; default 500,000)")
    args = ap.parse_args()
    n_nodes = 2 * args.steps + 1
    tracemalloc.start()
    with gc_paused():
        x = Value(0.5, label="x")
        y = x
        for _ in range(args.steps):
            y = (y * 1.0001).tanh()
        after_forward = tracemalloc.get_traced_memory()[0]
        y.backward()
        current, peak = tracemalloc.get_traced_memory()
        counted = len(topological_order(y))
        del y
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"chain of {args.steps:,} steps: {counted:,} nodes (expected {n_nodes:,})")
    print(f"  graph after forward : {after_forward / 1e6:8.1f} MB  = {after_forward / n_nodes:6.0f} bytes/node")
    print(f"  after backward      : {current / 1e6:8.1f} MB  = {current / n_nodes:6.0f} bytes/node (grads filled in)")
    print(f"  peak, fwd + bwd     : {peak / 1e6:8.1f} MB  = {peak / n_nodes:6.0f} bytes/node")
    print(f"  process max RSS     : {rss_mb:8.1f} MB (includes the interpreter and tracemalloc's own tables)")
    print(f"  x.grad = {x.grad:.6g}")


if __name__ == "__main__":
    main()
