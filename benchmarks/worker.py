"""Run ONE engine x case in this (fresh) process and print one JSON line.

    python benchmarks/worker.py ENGINE CASE [--repeats N] [--budget SECONDS] [--steps K]

CASE is W1, W2-<n>, W3, W3-<variant> (e.g. W3-dot), W4, MEM-W1 or MEM-W2.
run.py starts one of these per table cell, so no engine warms or pollutes
another's heap, and an engine that crashes (or blows the C stack) only loses
its own cell.

Timing: time.perf_counter around the timed calls only; setup, zeroing grads
and a gc.collect() (to free the previous repeat's graph, which matters for
micrograd's reference cycles) happen before each repeat, untimed.  W1 runs
one untimed warm-up step first.  Repeats stop early once ``--budget``
seconds have been spent (at least one repeat always runs): the table shows
how many ran.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)                     # workloads, adapters
sys.path.insert(1, os.path.dirname(HERE))    # engine, nn (when not pip-installed)

import workloads as W  # noqa: E402
from adapters import load  # noqa: E402

clock = time.perf_counter


MIN_TIME = 2.0   # cheap cells keep repeating until they have spent this long (max 100 repeats)


def _repeat(fn, repeats: int, budget: float) -> dict:
    """Call fn() (which returns a dict of named timings) ``repeats`` times, with two adjustments:
    a slow cell stops once it has used ``budget`` seconds; a cheap one (a few ms) goes on
    until MIN_TIME seconds, so its median is not at the mercy of one noisy moment."""
    times: dict = {}
    start = clock()
    i = 0
    while True:
        gc.collect()
        for k, v in fn().items():
            times.setdefault(k, []).append(v)
        i += 1
        spent = clock() - start
        if (i >= repeats and spent >= MIN_TIME) or i >= 100 or (spent > budget and i < repeats):
            break
    return times


def case_w1(m, repeats, budget, **_):
    X, Y = W.moons()
    s = m.w1_setup(X, Y, W.init_weights())

    def step():
        m.w1_zero_grad(s)
        t0 = clock()
        loss = m.w1_forward(s)
        t1 = clock()
        m.w1_backward(s, loss)
        t2 = clock()
        step.loss = loss
        return {"fwd": t1 - t0, "bwd": t2 - t1, "total": t2 - t0}

    step()  # warm-up, untimed
    step.loss = None
    times = _repeat(step, repeats, budget)
    loss, grads = m.w1_result(s, step.loss)
    return {"times": times, "check": {"loss": loss, "grad0": grads[0]}}


def case_w2(m, repeats, budget, n, **_):
    def run():
        t0 = clock()
        y, dx = m.w2(n)
        run.out = (y, dx)
        return {"total": clock() - t0}
    times = _repeat(run, repeats, budget)
    return {"times": times, "check": {"y": run.out[0], "dx": run.out[1]}}


def case_w3(m, repeats, budget, variant=None, size=W.W3_SIZE, **_):
    fn = m.w3 if variant is None else m.extra_w3[variant]
    s = m.w3_setup(*W.w3_vectors(size))

    def run():
        t0 = clock()
        out, ga, gb = fn(s)
        dt = clock() - t0
        run.out = (out, ga[0], gb[0])
        return {"total": dt}
    times = _repeat(run, repeats, budget)
    return {"times": times, "check": {**dict(zip(("sum", "ga0", "gb0"), run.out)), "size": size}}


def case_w4(m, repeats, budget, steps=W.W4_STEPS, **_):
    X, Y = W.moons()
    ws = W.init_weights()

    def run():
        t0 = clock()
        run.out = m.w4(X, Y, ws, steps)
        return {"total": clock() - t0}
    times = _repeat(run, repeats, budget)
    return {"times": times, "check": {"loss": run.out[0], "accuracy": run.out[1], "steps": steps}}


def case_mem(m, which, **_):
    """Python-heap bytes held by one graph (tracemalloc), and per node.

    graph_bytes: heap growth from just before the forward to just after it
    (the graph and whatever the forward keeps alive); peak_bytes: the
    highest heap above that same baseline during forward + backward.
    """
    gc.collect()
    tracemalloc.start()
    if which == "W1":
        X, Y = W.moons()
        s = m.w1_setup(X, Y, W.init_weights())
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        root = m.w1_forward(s)
        graph = tracemalloc.get_traced_memory()[0] - base
        m.w1_backward(s, root)
    else:  # W2: build the chain by hand so the root survives for counting (no backward needed)
        n = W.MEM_W2_SIZE
        root = x = m.w2_leaf()
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(n):
            root = (root * W.W2_FACTOR).tanh()
        graph = tracemalloc.get_traced_memory()[0] - base
        del x
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    nodes = m.count_nodes(root)
    return {"mem": {"graph_bytes": graph, "peak_bytes": peak, "nodes": nodes}}


def main(argv=None) -> int:
    global MIN_TIME
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("engine")
    ap.add_argument("case")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0, help="stop repeating after this many seconds")
    ap.add_argument("--steps", type=int, default=W.W4_STEPS, help="W4 training steps")
    ap.add_argument("--size", type=int, default=W.W3_SIZE, help="W3 number of products")
    ap.add_argument("--min-time", type=float, default=MIN_TIME, help="cheap cells repeat until this many seconds")
    a = ap.parse_args(argv)
    MIN_TIME = a.min_time

    out = {"engine": a.engine, "case": a.case}
    try:
        m = load(a.engine)
    except ImportError as e:
        out.update(status="missing", error=f"not installed ({e})")
        print("RESULT " + json.dumps(out))
        return 0

    case, _, arg = a.case.partition("-")
    kw = {"repeats": a.repeats, "budget": a.budget}
    try:
        if case == "W1":
            need, fn = "w1_forward", case_w1
        elif case == "W2":
            need, fn = "w2", case_w2
            kw["n"] = int(arg)
        elif case == "W3":
            need, fn = ("w3", case_w3) if not arg else ("extra_w3", case_w3)
            kw["size"] = a.size
            if arg:
                kw["variant"] = arg
        elif case == "W4":
            need, fn = "w4", case_w4
            kw["steps"] = a.steps
        elif case == "MEM":
            need, fn = ("w1_forward" if arg == "W1" else "w2_leaf"), case_mem
            kw["which"] = arg
        else:
            raise SystemExit(f"worker: unknown case {a.case!r}")
        if not hasattr(m, need) or (arg and case == "W3" and arg not in m.extra_w3):
            out.update(status="n/a")
        else:
            out.update(status="ok", **fn(m, **kw))
    except (RecursionError, MemoryError, OverflowError, ValueError, RuntimeError) as e:
        # a crash is a result: report it, do not drop the engine
        gc.enable()
        out.update(status="crash", error=f"{type(e).__name__}: {str(e)[:120]}")
    out["note"] = getattr(m, "NOTE", "")
    print("RESULT " + json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
