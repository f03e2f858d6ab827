"""Where chainrule's W1 step (MLP 2-16-16-1, 100 points, forward + backward) spends its time.

    python benchmarks/profile_w1.py            # top 25 functions by own time, then by cumulative
    python benchmarks/profile_w1.py --steps 20 --top 40

Runs the exact adapter code that run.py times (benchmarks/adapters/chainrule_engine.py)
under cProfile.  cProfile adds a fixed cost per Python call, so it
over-weights small functions: use it to see WHERE time goes, and run.py to
see how much a change gains.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))

import workloads as W  # noqa: E402
from adapters import load  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="W1 steps to profile (default 10)")
    ap.add_argument("--top", type=int, default=25, help="rows to print per listing")
    a = ap.parse_args(argv)

    m = load("chainrule")
    X, Y = W.moons()
    s = m.w1_setup(X, Y, W.init_weights())

    def step():
        m.w1_zero_grad(s)
        loss = m.w1_forward(s)
        m.w1_backward(s, loss)

    step()  # warm-up
    # without the profiler first, for scale (and forward/backward shares)
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    plain = (time.perf_counter() - t) / a.steps
    print(f"chainrule W1 step: {plain * 1e3:.1f} ms per step without the profiler ({m.NOTE})")

    gc.collect()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(a.steps):
        step()
    prof.disable()
    st = pstats.Stats(prof).strip_dirs()
    print(f"\n=== top {a.top} by own time (tottime), {a.steps} steps ===")
    st.sort_stats("tottime").print_stats(a.top)
    print(f"=== top {a.top} by cumulative time ===")
    st.sort_stats("cumulative").print_stats(a.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
