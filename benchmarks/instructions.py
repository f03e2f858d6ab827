"""Instructions per workload, counted by valgrind: ratios that machine noise cannot move.

    python benchmarks/instructions.py                # W1, W2 (100,000 steps), W3 with engine.dot; ~4 min
    python benchmarks/instructions.py --cases W3     # the naive W3 (200,000 nodes under valgrind; ~5 min)
    python benchmarks/instructions.py --engines chainrule_gcpaused,float_limit --cases W1

On a shared 2-core machine a timed median moves by 2x from minute to minute
(see results.md); an instruction count does not move at all, so this is the
tool for "did this change help?" and a second opinion on the x float_limit
columns.  Instructions are not time: cache misses and allocation cost more
per instruction in a graph engine than in float_limit's flat lists, so the
time ratio is usually somewhat above the instruction ratio.

Method: each engine x case runs twice in a fresh process under
``valgrind --tool=callgrind`` (no cache simulation), with R1 and R2 repeats
of the case after an identical setup; (count2 - count1) / (R2 - R1) is the
cost of one repeat, with start-up, imports and setup cancelled out.  The
collector stays as each adapter leaves it (on for ``chainrule``, paused for
``chainrule_gcpaused``), so its work is counted where it happens.
Needs valgrind (Debian: ``apt-get install valgrind``).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# case -> (repeats in run 1, repeats in run 2)
CASES = {"W1": (1, 4), "W2": (1, 2), "W3": (1, 2), "W3-dot": (1, 3), "W3-fused": (1, 2),
         "W1-forward": (1, 4), "W1-nograd": (1, 4),  # W1's forward alone, recorded / under no_grad
         "W1-compile": (1, 3),  # engine.compile_graph of W1's recorded graph (compare with W1: one eager step)
         "W5": (1, 3), "W5-fused": (1, 3), "W5-minimal": (1, 3),  # the GPT step (w5.py): drop-in, fused(), baseline
         "W5-nn": (1, 3), "W5-compile": (1, 3)}  # nn blocks' step; compile_graph of its graph (in W5-nn steps)
DEFAULT_CASES = "W1,W2,W3-dot"
W2_STEPS = 100_000
DEFAULT_ENGINES = "chainrule,chainrule_gcpaused,float_limit"

_DRIVER = r'''
import sys
sys.path.insert(0, {here!r}); sys.path.insert(1, {root!r})
import workloads as W
from adapters import load
m = load({engine!r})
case, reps = {case!r}, {reps}
if case == "W1":
    X, Y = W.moons(); s = m.w1_setup(X, Y, W.init_weights())
    loss = m.w1_forward(s); m.w1_backward(s, loss)  # warm-up, as worker.py
    for _ in range(reps):
        loss = None
        m.w1_zero_grad(s); loss = m.w1_forward(s); m.w1_backward(s, loss)
elif case in ("W5-nn", "W5-compile"):
    import gc, gpt_model as G, gpt_nn, engine
    gc.disable()
    model = gpt_nn.Model(G.init_params())
    seq = G.tokens(G.NAME)
    params = model.flat()  # nn's parameters() walks the module tree: not part of compiling
    loss = model.loss(seq); loss.backward()  # warm-up
    for _ in range(reps):
        if case == "W5-nn":
            loss = None
            loss = model.loss(seq); loss.backward()
        else:
            engine.compile_graph(loss, params)
elif case.startswith("W5"):
    import contextlib, gc, gpt_model as G, engine
    gc.disable()
    cls = G.MinimalValue if case == "W5-minimal" else engine.Value
    fz = engine.fused if case == "W5-fused" else contextlib.nullcontext
    p = {{k: [[cls(x) for x in r] for r in v] for k, v in G.init_params().items()}}
    seq = G.tokens(G.NAME)
    for _ in range(reps):
        with fz():
            loss = G.loss(seq, p)
        loss.backward()
        loss = None
elif case in ("W1-forward", "W1-nograd"):
    import engine
    X, Y = W.moons(); s = m.w1_setup(X, Y, W.init_weights())
    mode = engine.no_grad if case == "W1-nograd" else engine.enable_grad
    loss = m.w1_forward(s)
    for _ in range(reps):
        loss = None
        with mode():
            loss = m.w1_forward(s)
elif case == "W1-compile":
    from engine import compile_graph
    X, Y = W.moons(); s = m.w1_setup(X, Y, W.init_weights())
    loss = m.w1_forward(s)
    for _ in range(reps):
        compile_graph(loss, s["params"])
elif case == "W2":
    for _ in range(reps):
        m.w2({w2_steps})
else:
    fn = m.w3 if case == "W3" else m.extra_w3[case.split("-", 1)[1]]
    s = m.w3_setup(*W.w3_vectors())
    for _ in range(reps):
        fn(s)
'''


ROOT = os.path.dirname(HERE)  # the checkout whose engine is measured (--tree)


def count(engine: str, case: str, reps: int) -> int:
    src = _DRIVER.format(here=HERE, root=ROOT, engine=engine, case=case, reps=reps, w2_steps=W2_STEPS)
    with tempfile.TemporaryDirectory() as tmp:
        driver = os.path.join(tmp, "driver.py")
        with open(driver, "w") as f:
            f.write(src)
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={os.path.join(tmp, 'cg.out')}",
             sys.executable, driver], capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{engine} {case}: valgrind run failed: {' | '.join(tail)}")
    return int(found.group(1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default=DEFAULT_ENGINES, help=f"comma-separated (default {DEFAULT_ENGINES})")
    ap.add_argument("--cases", default=DEFAULT_CASES,
                    help=f"comma-separated of {', '.join(CASES)} (default {DEFAULT_CASES})")
    ap.add_argument("--tree", default=None,
                    help="measure the engine/nn of another checkout (e.g. a git worktree of an older commit)")
    args = ap.parse_args(argv)
    if args.tree:
        global ROOT
        ROOT = os.path.abspath(args.tree)
    if shutil.which("valgrind") is None:
        print("instructions.py: valgrind is not installed (Debian: apt-get install valgrind); "
              "the timed benchmarks (run.py) do not need it", file=sys.stderr)
        return 2
    engines = [e for e in args.engines.split(",") if e]
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in CASES:
            print(f"instructions.py: unknown case {c!r}; choose from {', '.join(CASES)}", file=sys.stderr)
            return 2
    per = {}
    print("| case | engine | instructions per repeat | x float_limit |")
    print("|---|---|---:|---:|")
    for case in cases:
        r1, r2 = CASES[case]
        for engine in engines:
            if ("-" in case or case == "W5") and engine == "float_limit":
                continue  # an engine-specific variant: compared with float_limit's W1/W3 (W5: with W5-minimal)
            try:
                n = (count(engine, case, r2) - count(engine, case, r1)) / (r2 - r1)
            except RuntimeError as e:
                print(f"| {case} | {engine} | {e} | |")
                continue
            per[case, engine] = n
        base = per.get((case.split("-")[0], "float_limit"))
        if case.startswith("W5"):  # W5 compares with the minimal Value class (x minimal = its count / ours)
            base = next((n for (c, _), n in per.items() if c == "W5-minimal"), None)
            base = -base if base else None
        if base is None and "-" in case and "float_limit" in engines:  # W3-dot alone: measure float_limit's W3
            r1, r2 = CASES["W3"]
            base = per[case.split("-")[0], "float_limit"] = (count("float_limit", "W3", r2)
                                                             - count("float_limit", "W3", r1)) / (r2 - r1)
        for engine in engines:
            if (case, engine) in per:
                n = per[case, engine]
                ratio = (f"{n / base:.2f}x" if base > 0 else f"{-base / n:.2f}x faster") if base else "—"
                unit = f" ({n / W2_STEPS:,.0f} per step)" if case == "W2" else ""
                print(f"| {case} | {engine} | {n / 1e6:,.1f} M{unit} | {ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
