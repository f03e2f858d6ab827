"""W5: the GPT step of gpt_model.py on every engine, side by side, as ratios.

    python benchmarks/w5.py                       # every variant, 3 rounds, this Python
    python benchmarks/w5.py --python 3.13         # the same on another CPython (pyenv version or path)
    python benchmarks/w5.py --variants minimal,chainrule --steps 20

Variants (all run exactly the model code of gpt_model.py unless said):

  minimal          gpt_model.MinimalValue: __slots__ + local gradients, one node per op (the baseline)
  chainrule        engine.Value dropped in, nothing else changed
  chainrule_fused  the same inside ``with engine.fused():``
  chainrule_nn     the same model built from nn's building blocks (Embedding, RMSNorm, attention...)
  chainrule_traced the chainrule_nn step compiled once with engine.compile_graph, then replayed
  torch_batched    PyTorch, whole sequences as tensors (the ceiling; Python 3.11 only here)

Each variant x round runs in a fresh process (``--worker``); rounds are taken
in turn so every variant is timed in the same minutes (this machine's speed
drifts).  Reported: nodes per step, median step time (forward + backward +
Adam), its ratio to ``minimal``, peak graph memory, and the first step's
loss, which every variant must agree on to 1e-9.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VARIANTS = ["minimal", "chainrule", "chainrule_fused", "chainrule_nn", "chainrule_traced", "torch_batched"]


# --- one variant in this process ------------------------------------------------

def _wrap(value_class, params: dict) -> dict:
    return {name: [[value_class(x) for x in row] for row in rows] for name, rows in params.items()}


def _scalar_step(G, p, seq, opt, fused):
    t0 = time.perf_counter()
    with fused():
        loss = G.loss(seq, p)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    data = loss.data
    opt.step()
    t3 = time.perf_counter()
    return loss, data, {"fwd": t1 - t0, "bwd": t2 - t1, "total": t3 - t0}


def run(variant: str, steps: int) -> dict:
    import contextlib
    import gpt_model as G
    seq = G.tokens(G.NAME)
    params = G.init_params()
    if variant == "torch_batched":
        return _run_torch(G, params, seq, steps)
    if variant in ("chainrule_nn", "chainrule_traced"):
        import gpt_nn  # nn.GPT with these weights, behind gpt_model's interface (loss, flat, Adam)
        G, value_class, fused = gpt_nn.Model(params), float, contextlib.nullcontext
    elif variant == "minimal":
        value_class, fused = G.MinimalValue, contextlib.nullcontext
    else:
        import engine
        value_class = engine.Value
        fused = engine.fused if variant == "chainrule_fused" else contextlib.nullcontext
    p = _wrap(value_class, params)
    flat = G.flat(p)
    opt = G.Adam(flat)
    gc.disable()  # every engine the same: the graphs hold no cycles worth collecting within a step
    if variant == "chainrule_traced":
        return _run_traced(G, p, flat, seq, opt, steps)
    nodes = peak = None
    times = []
    first_loss = None
    for i in range(steps + 1):
        if i == 1:  # the second step: count nodes and memory on a warm process
            tracemalloc.start()
            with fused():
                loss = G.loss(seq, p)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            nodes = G.count_nodes(loss)
            del loss
            gc.collect()
        loss, data, t = _scalar_step(G, p, seq, opt, fused)
        del loss
        if i == 0:
            first_loss = data
        else:
            times.append(t)
        gc.collect()
    return {"nodes": nodes, "peak": peak, "loss": first_loss, "times": times}


def _run_traced(G, p, flat, seq, opt, steps: int) -> dict:
    import engine
    import engine.trace  # noqa: F401 - engine imports it on first use; compiling its source (no .pyc here) is not compiling a graph
    t0 = time.perf_counter()
    loss = G.loss(seq, p)
    compiled = engine.compile_graph(loss, flat)
    compile_s = time.perf_counter() - t0
    first_loss = loss.data
    nodes = G.count_nodes(loss)
    del loss
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        compiled.step()
        t1 = time.perf_counter()
        opt.step()
        t2 = time.perf_counter()
        if i:
            times.append({"fwd": 0.0, "bwd": t1 - t0, "total": t2 - t0})
    return {"nodes": nodes, "peak": None, "loss": first_loss, "times": times, "compile": compile_s}


def _run_torch(G, params: dict, seq: list, steps: int) -> dict:
    import torch
    torch.set_num_threads(1)
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    opt = torch.optim.Adam(list(P.values()), lr=G.LR, betas=(G.BETA1, G.BETA2), eps=G.EPS)
    idx = torch.tensor(seq[:-1][:G.BLOCK])
    tgt = torch.tensor(seq[1:][:G.BLOCK])
    T = len(idx)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)

    def rms(x):
        return x * ((x * x).mean(-1, keepdim=True) + 1e-5) ** -0.5

    def loss_fn():
        x = rms(P["wte"][idx] + P["wpe"][:T])
        for i in range(G.N_LAYER):
            r = x
            x = rms(x)
            q, k, v = (x @ P[f"layer{i}.{w}"].T for w in ("wq", "wk", "wv"))
            q, k, v = (t.view(T, G.N_HEAD, G.HEAD_DIM).transpose(0, 1) for t in (q, k, v))
            att = (q @ k.transpose(1, 2)) / G.HEAD_DIM ** 0.5
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            x = (att @ v).transpose(0, 1).reshape(T, G.N_EMBD) @ P[f"layer{i}.wo"].T + r
            r = x
            x = torch.relu(rms(x) @ P[f"layer{i}.fc1"].T) @ P[f"layer{i}.fc2"].T + r
        logits = x @ P["lm_head"].T
        return torch.nn.functional.cross_entropy(logits, tgt)

    times = []
    first = None
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss = loss_fn()
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i == 0:
            first = loss.item()
        else:
            times.append({"fwd": t1 - t0, "bwd": t2 - t1, "total": t3 - t0})
    return {"nodes": None, "peak": None, "loss": first, "times": times}


# --- the orchestra ----------------------------------------------------------------

def python_for(spec: str) -> str:
    if not spec:
        return sys.executable
    if os.path.sep in spec:
        return spec
    out = subprocess.run(["pyenv", "which", "python"], env={**os.environ, "PYENV_VERSION": spec},
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"w5.py: no Python {spec!r} from pyenv: {out.stderr.strip()}")
    # (pyenv's shim output is the interpreter's path)
    return out.stdout.strip()


def _worker(python: str, variant: str, steps: int) -> dict:
    proc = subprocess.run([python, __file__, "--worker", variant, "--steps", str(steps)],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        return {"error": tail[0][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(python: str, variants: list, steps: int, rounds: int) -> tuple:
    """(markdown lines, ok, {variant: (median step s, compile s or None)}): the W5 table
    for one interpreter, rounds taken in turn."""
    pooled = {v: {"times": [], "info": None, "errors": []} for v in variants}
    for _ in range(rounds):
        for v in variants:
            r = _worker(python, v, steps)
            if "error" in r:
                pooled[v]["errors"].append(r["error"])
                continue
            pooled[v]["times"] += [t["total"] for t in r["times"]]
            pooled[v]["info"] = r
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    base = statistics.median(pooled["minimal"]["times"]) if pooled.get("minimal", {}).get("times") else None
    medians = {v: (statistics.median(r["times"]), r["info"].get("compile")) for v, r in pooled.items() if r["times"]}
    lines = [f"W5: GPT step on {len(_name_tokens()) - 1} positions, CPython {version}, {rounds} rounds x "
             f"{steps} steps, medians", "",
             "| variant | nodes | step (fwd + bwd + Adam) | x minimal | peak graph memory | first loss |",
             "|---|---:|---:|---:|---:|---|"]
    for v in variants:
        r = pooled[v]
        if not r["times"]:
            lines.append(f"| {v} | — | {'; '.join(r['errors'][:1]) or 'not run'} | | | |")
            continue
        med = statistics.median(r["times"])
        info = r["info"]
        ratio = f"{base / med:.1f}x" if base else "—"
        nodes = f"{info['nodes']:,}" if info.get("nodes") else "—"
        peak = f"{info['peak'] / 1e6:.1f} MB" if info.get("peak") else "—"
        extra = ""
        if "compile" in info:
            extra = f" (compile {info['compile'] * 1e3:.0f} ms = {info['compile'] / med:.0f} replays)"
        lines.append(f"| {v} | {nodes} | {med * 1e3:.2f} ms{extra} | {ratio} | {peak} | {info['loss']!r} |")
    losses = [pooled[v]["info"]["loss"] for v in variants if pooled[v]["info"]]
    ok = not losses or max(losses) - min(losses) <= 1e-9
    if not ok:
        lines.append(f"\nLOSSES DISAGREE: {losses}")
    return lines, ok, medians


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--steps", type=int, default=10, help="timed steps per round (after one warm-up)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default="", help="pyenv version (3.13.0) or interpreter path; default: this one")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        sys.path[:0] = [HERE, ROOT]
        print(json.dumps(run(args.worker, args.steps)))
        return 0
    lines, ok, _ = measure(python_for(args.python), [v for v in args.variants.split(",") if v], args.steps, args.rounds)
    print("\n".join(lines))
    return 0 if ok else 1


def _name_tokens():
    sys.path.insert(0, HERE)
    import gpt_model
    return gpt_model.tokens(gpt_model.NAME)


if __name__ == "__main__":
    sys.exit(main())
