"""W1 traced vs untraced vs float_limit, one process, interleaved.

    .venv/bin/python benchmarks/trace_w1.py [--repeats 15]

W1 = one training step (forward + backward) of an MLP 2-16-16-1 on 100
two-moons points, max-margin loss + 1e-4 L2, built exactly as
benchmarks/adapters/chainrule_engine.py builds it.  Three contenders, one
round each per repeat (so machine noise hits all of them alike), min over
repeats:

* chainrule:        build the graph (w1_forward) + loss.backward()
* chainrule_traced: engine.trace replay of the same graph (Compiled.step:
                    reads the parameters' .data, writes their .grad)
* float_limit:      the hand-written plain-float forward + backward

Standalone because registering an engine in benchmarks/adapters/__init__.py
is not this script's business (adapters/chainrule_traced.py is ready for it).
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import workloads as W  # noqa: E402
from adapters import chainrule_engine as CE  # noqa: E402
from adapters import chainrule_traced as CT  # noqa: E402
from adapters import float_limit as FL  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    X, Y = W.moons()
    weights = W.init_weights()

    ce = CE.w1_setup(X, Y, weights)
    ct = CT.w1_setup(X, Y, weights)  # traces and compiles here (timed inside)
    fl = FL.w1_setup(X, Y, weights)

    def run_ce():
        CE.w1_zero_grad(ce)
        loss = CE.w1_forward(ce)
        CE.w1_backward(ce, loss)
        return loss

    def run_ct():
        CT.w1_zero_grad(ct)
        loss = CT.w1_forward(ct)
        CT.w1_backward(ct, loss)
        return loss

    def run_fl():
        FL.w1_zero_grad(fl)
        loss = FL.w1_forward(fl)
        FL.w1_backward(fl, loss)
        return loss

    # same numbers first
    l1, g1 = CE.w1_result(ce, run_ce())
    l2, g2 = CT.w1_result(ct, run_ct())
    l3, g3 = FL.w1_result(fl, run_fl())
    err = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(g1 + [l1], g2 + [l2]))
    err_fl = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(g1 + [l1], g3 + [l3]))
    print(f"max rel diff traced vs engine: {err:.2e}; float_limit vs engine: {err_fl:.2e}")

    fns = {"chainrule": run_ce, "chainrule_traced": run_ct, "float_limit": run_fl}
    best = {k: float("inf") for k in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():
            gc.collect()
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    print(f"python {sys.version.split()[0]}; W1 step = forward + backward; min of {args.repeats} interleaved repeats")
    print(f"trace+compile once: {ct['compiled'].compile_seconds:.3f} s  ({ct['compiled']!r})")
    for name, t in best.items():
        print(f"  {name:18s} {t * 1e3:8.2f} ms   x float_limit {t / best['float_limit']:5.2f}   "
              f"x chainrule {t / best['chainrule']:5.3f}")
    saved = best["chainrule"] - best["chainrule_traced"]
    print(f"traced speed-up over chainrule: {best['chainrule'] / best['chainrule_traced']:.1f}x; "
          f"compile pays off after ~{ct['compiled'].compile_seconds / saved:.0f} steps")
    print(f"compiling (once, at setup, on fresh memory) = {ct['compiled'].compile_seconds / best['chainrule']:.1f} "
          f"eager steps (target <= 3; `instructions.py --cases W1,W1-compile` counts it noise-free)")


if __name__ == "__main__":
    main()
