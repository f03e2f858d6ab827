"""What compiling costs (issue 15's targets: <= 3 eager steps, <= 3x the graph's memory), W1 and W5.

    .venv/bin/python benchmarks/compile_cost.py [--repeats 7] [--json]

For each graph, in one process:

* eager step: record the graph + backward() (W1: the adapter's step, as
  trace_w1.py times it; W5: the GPT built from nn's blocks, as w5.py's
  chainrule_nn variant), min over repeats;
* compile: ``compile_graph`` of a recorded graph, min over repeats,
  interleaved with the eager steps so machine noise hits both alike; the
  first compile of the process (fresh memory) is shown as well;
* memory (tracemalloc): the recorded graph's own allocations, and the peak
  that compiling allocates above it, and what the Compiled keeps.

Instruction counts of the same (noise-free) come from
``instructions.py --cases W1,W1-compile,W5-nn,W5-compile``.  ``--json``
prints the numbers for run.py's report (``make bench``).
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
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import engine  # noqa: E402
import engine.trace  # noqa: E402,F401 - engine imports it on the first compile_graph: not a compile cost
import gpt_model as G  # noqa: E402
import gpt_nn  # noqa: E402
import workloads as W  # noqa: E402
from adapters import chainrule_engine as CE  # noqa: E402


def _w1():
    s = CE.w1_setup(*W.moons(), W.init_weights())

    def record():
        CE.w1_zero_grad(s)
        return CE.w1_forward(s)

    return record, s["params"]


def _w5():
    model = gpt_nn.Model(G.init_params())
    seq = G.tokens(G.NAME)
    return (lambda: model.loss(seq)), model.flat()


def measure(record, params, repeats: int) -> dict:
    loss = record()
    t = time.perf_counter()
    engine.compile_graph(loss, params)
    first = time.perf_counter() - t
    eager = compile_s = float("inf")
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        record().backward()
        eager = min(eager, time.perf_counter() - t)
        gc.collect()
        t = time.perf_counter()
        engine.compile_graph(loss, params)
        compile_s = min(compile_s, time.perf_counter() - t)
    del loss
    # gc.collect() empties CPython's free lists, so every object counted below is really allocated
    gc.collect()
    tracemalloc.start()
    loss = record()
    gc.collect()
    graph = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    compiled = engine.compile_graph(loss, params)
    peak = tracemalloc.get_traced_memory()[1]
    gc.collect()
    now = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"eager": eager, "compile": compile_s, "first": first, "graph": graph,
            "peak": peak - graph, "kept": now - graph, "nodes": compiled.n_nodes}


GRAPHS = {"W1": ("W1 (MLP batch)", _w1), "W5": ("W5 (GPT, nn blocks)", _w5)}


def table(results: dict) -> list:
    """Markdown lines for {"W1": measure(...), ...}."""
    lines = ["| graph | nodes | eager step | compile | in eager steps | first compile (fresh memory) "
             "| graph memory | compile peak above it | kept by the Compiled |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, r in results.items():
        lines.append(f"| {GRAPHS[key][0]} | {r['nodes']:,} | {r['eager'] * 1e3:.2f} ms | {r['compile'] * 1e3:.2f} ms "
                     f"| {r['compile'] / r['eager']:.2f} | {r['first'] / r['eager']:.2f} "
                     f"| {r['graph'] / 1e6:.2f} MB | {r['peak'] / 1e6:.2f} MB = {r['peak'] / r['graph']:.2f}x "
                     f"| {r['kept'] / 1e6:.2f} MB |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON instead of a table")
    args = ap.parse_args()
    results = {key: measure(*make(), args.repeats) for key, (_, make) in GRAPHS.items()}
    if args.json:
        print(json.dumps(results))
        return
    print(f"python {sys.version.split()[0]}; min of {args.repeats} interleaved repeats\n")
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
