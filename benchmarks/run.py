"""chainrule benchmarks: every engine x workload in a fresh subprocess, one table.

    python benchmarks/run.py                  # full run (~10 min), writes benchmarks/results.md
    python benchmarks/run.py --quick          # smoke run (~1-2 min), writes benchmarks/_work/results-quick.md
    python benchmarks/run.py --only W1,MEM --engines chainrule,micrograd --repeats 3

Each figure is also shown as a ratio to micrograd and to float_limit from
the SAME run: on a shared 2-core machine absolute seconds drift by 2x from
one minute to the next, ratios much less.  See benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata as md
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SITE = os.path.join(HERE, "_work", "site")  # where --install-scalargrad puts scalargrad
sys.path.insert(0, HERE)

import workloads as W  # noqa: E402

ENGINES = ["chainrule", "chainrule_gcpaused", "micrograd", "micrograd_nogc", "scalargrad", "torch_scalar", "torch_batched", "float_limit"]
# W1 also runs engine.trace's replay of a compiled step (W1 only: its fwd column is fwd + bwd)
W1_ENGINES = ENGINES[:2] + ["chainrule_traced"] + ENGINES[2:]


def plan(quick: bool):
    """[(case, engines)] in run order."""
    w2 = [s for s in W.W2_SIZES if not (quick and s > 100_000)]
    out = [("W1", W1_ENGINES)]
    # torch_scalar's 1M chain takes ~70 s for a ratio the 100k row already shows: not run
    out += [(f"W2-{n}", [e for e in ENGINES if e != "torch_batched" and not (e == "torch_scalar" and n > 100_000)])
            for n in w2]
    out += [("W3", ENGINES), ("W3-dot", ["chainrule", "chainrule_gcpaused"]),
            ("W3-fused", ["chainrule", "chainrule_gcpaused"])]
    # W4: micrograd's demo loop is ~100 x its W1 step (minutes): no nogc/scalargrad/torch_scalar twins
    out += [("W4", ["chainrule", "micrograd", "torch_batched", "float_limit"])]
    out += [("MEM-W1", ["chainrule", "micrograd", "scalargrad"]), ("MEM-W2", ["chainrule", "micrograd", "scalargrad"])]
    return out


def run_case(engine: str, case: str, args, repeats: int = 0, min_time: float = -1.0, python: str = "",
             env: dict = None) -> dict:
    """One fresh worker process for one cell (or one round of it: see main)."""
    cmd = [python or sys.executable, os.path.join(HERE, "worker.py"), engine, case,
           "--repeats", str(repeats or args.repeats), "--budget", str(args.budget),
           "--steps", str(args.steps), "--size", str(args.w3_size),
           "--min-time", str(args.min_time if min_time < 0 else min_time)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        return {"engine": engine, "case": case, "status": "crash", "error": f"timeout after {args.timeout:.0f} s",
                "wall": args.timeout}
    wall = time.perf_counter() - t0
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            r["wall"] = wall
            return r
    # no RESULT line: the process died (C stack overflow, killed, ...)
    tail = (p.stderr.strip().splitlines() or ["?"])[-1][:120]
    return {"engine": engine, "case": case, "status": "crash", "error": f"exit code {p.returncode}: {tail}", "wall": wall}


# --- formatting -----------------------------------------------------------------

def med(xs):
    return statistics.median(xs)


def secs(x: float) -> str:
    if x >= 10:
        return f"{x:.1f} s"
    if x >= 0.1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.1f} ms"
    return f"{x * 1e6:.0f} µs"


def ratio(x) -> str:
    return "—" if x is None else (f"{x:.0f}x" if x >= 100 else f"{x:.1f}x" if x >= 10 else f"{x:.2f}x")


def status_text(r) -> str:
    if r["status"] == "crash":
        return f"crash ({r['error'].split(':')[0]})" if not r["error"].startswith(("exit", "timeout")) else f"crash ({r['error']})"
    if r["status"] == "missing":
        return "not installed"
    if r["status"] == "skipped":
        return r["error"]
    return "n/a"


def time_table(results: dict, cases, key_of=lambda case: "total"):
    """Markdown rows: one per engine x case, with ratios to micrograd and float_limit."""
    rows = ["| workload | engine | median | min | n | speed-up vs micrograd, medians (mins) "
            "| x float_limit time, medians (mins) |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for case, engines, label, key in cases:
        base = "W3" if case.startswith("W3-") else case  # W3-dot, W3-fused: compared with the W3 baselines

        def stats_of(e):
            r = results.get((e, base))
            return (med(r["times"][key]), min(r["times"][key])) if r and r["status"] == "ok" else None
        mg, fl = stats_of("micrograd"), stats_of("float_limit")
        for e in engines:
            r = results.get((e, case))
            if r is None:
                continue
            if r["status"] != "ok":
                rows.append(f"| {label} | {e} | {status_text(r)} | | | | |")
                continue
            t = r["times"][key]
            m = med(t)
            lo = min(t)
            vs_mg = f"{ratio(mg[0] / m)} ({ratio(mg[1] / lo)})" if mg else ("micrograd crashed" if results.get(("micrograd", base), {})
                                              .get("status") in ("crash", "skipped") else "—")
            vs_fl = f"{ratio(m / fl[0])} ({ratio(lo / fl[1])})" if fl else "—"
            rows.append(f"| {label} | {e} | {secs(m)} | {secs(min(t))} | {len(t)} | {vs_mg} | {vs_fl} |")
    return rows


def mem_table(results):
    rows = ["| graph | engine | nodes | graph heap | bytes / node | per micrograd-equivalent node "
            "| peak heap (fwd+bwd) |", "|---|---|---:|---:|---:|---:|---:|"]
    mg_w1 = results.get(("micrograd", "MEM-W1"))
    mg_nodes = mg_w1["mem"]["nodes"] if mg_w1 and mg_w1["status"] == "ok" else W.MICROGRAD_W1_NODES
    for case, label, equiv in (("MEM-W1", "W1 step", mg_nodes), ("MEM-W2", f"W2 chain of {W.MEM_W2_SIZE:,}", None)):
        for e in ("chainrule", "micrograd", "scalargrad"):
            r = results.get((e, case))
            if r is None:
                continue
            if r["status"] != "ok":
                rows.append(f"| {label} | {e} | {status_text(r)} | | | | |")
                continue
            g, n = r["mem"]["graph_bytes"], r["mem"]["nodes"]
            # W2: the micrograd-equivalent of one chain step is 2 nodes (mul, tanh)
            eq = g / equiv if equiv else g / (2 * W.MEM_W2_SIZE)
            rows.append(f"| {label} | {e} | {n:,} | {g / 1e6:.2f} MB | {g / n:.0f} | {eq:.0f} "
                        f"| {r['mem']['peak_bytes'] / 1e6:.2f} MB |")
    return rows, mg_nodes


def targets(results, mg_nodes, me="chainrule"):
    """The issue's targets, computed from engine ``me``'s rows: [(target, measured, PASS/MISS)]."""
    def m(e, case, key="total", f=med):
        r = results.get((e, case))
        return f(r["times"][key]) if r and r["status"] == "ok" else None

    out = []

    def faster(case, peer, want, label):
        who = "chainrule" if case == "W4" else me  # W4 is nn.fit, which pauses the collector itself
        c, p = m(who, case), m(peer, case)
        if c is None or p is None:
            out.append((label, "not measured", "—"))
        else:
            lo = m(peer, case, f=min) / m(who, case, f=min)
            out.append((label, f"{p / c:.1f}x faster (mins: {lo:.1f}x)", "PASS" if p / c >= want else "MISS"))

    def within(case, want, label):
        base = "W3" if case.startswith("W3-") else case
        c, f = m(me, case), m("float_limit", base)
        r = results.get((me if not case.startswith("MEM") else "chainrule", case))
        if r is None or f is None:
            out.append((label, "not measured", "—"))
        elif c is None:
            out.append((label, status_text(r), "MISS"))
        else:
            lo = m(me, case, f=min) / m("float_limit", base, f=min)
            out.append((label, f"{c / f:.2f}x float_limit (mins: {lo:.2f}x)", "PASS" if c / f <= want else "MISS"))

    faster("W1", "micrograd", 45, "W1 step >= 45x faster than micrograd")
    within("W1", 3, "W1 step within 3x of float_limit")
    faster("W1", "micrograd_nogc", 5, "W1 step >= 5x faster than micrograd with gc.disable()")
    faster("W1", "torch_scalar", 20, "W1 step >= 20x faster than torch 0-dim tensors")
    within("W2-1000000", 8, "W2 1,000,000 steps completes, within 8x float_limit")
    within("W3", 5, "W3 (naive: builtin sum of a*b) completes, within 5x float_limit")
    within("W3-dot", 5, "W3 (engine.dot) completes, within 5x float_limit")
    within("W3-fused", 6, "W3 naive inside engine.fused(), within 6x float_limit")
    for case, label, per in (("MEM-W1", "W1 bytes per micrograd-equivalent node <= 250", mg_nodes),
                             ("MEM-W2", "W2 bytes per node <= 250", None)):
        r = results.get((me if not case.startswith("MEM") else "chainrule", case))
        if r is None or r["status"] != "ok":
            out.append((label, "not measured", "—"))
        else:
            b = r["mem"]["graph_bytes"] / (per or r["mem"]["nodes"])
            out.append((label, f"{b:.0f} bytes", "PASS" if b <= 250 else "MISS"))
    faster("W4", "micrograd", 30, "W4 demo training >= 30x faster than micrograd's demo loop")
    return out


def machine_info() -> list:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if os.path.isdir(SITE):
        sys.path.append(SITE)  # so importlib.metadata sees a --install-scalargrad copy

    def ver(pkg):
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=ROOT).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "engine", "nn"], capture_output=True,
                               text=True, cwd=ROOT).stdout.strip()
        commit += " (engine/nn have uncommitted changes)" if dirty else ""
    except OSError:
        commit = "?"
    return [
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- packages: chainrule {ver('chainrule')} at commit {commit}, micrograd {ver('micrograd')}, "
        f"torch {ver('torch')}, scalargrad {ver('scalargrad')}",
        f"- load average at start: {'%.2f %.2f %.2f' % os.getloadavg()} (other work on the machine makes everything slower)",
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark chainrule against micrograd, PyTorch and plain floats.")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats per cell (default 5)")
    ap.add_argument("--budget", type=float, default=10.0,
                    help="stop repeating a cell after this many seconds (slow cells get fewer repeats; n shows it)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 repeat, no 1M chain, W3 of 10,000, W4 of 3 steps")
    ap.add_argument("--only", default="", help="comma-separated case prefixes, e.g. W1,W2,MEM")
    ap.add_argument("--engines", default="", help="comma-separated engines (default: all)")
    ap.add_argument("--min-time", type=float, default=2.0,
                    help="cheap cells repeat until they have spent this many seconds (max 100 repeats)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="split each cell into this many fresh processes, run in turn with the case's other "
                         "engines (default 3; no further round once a cell has used --budget seconds)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds before a cell counts as a crash")
    ap.add_argument("--out", default=None, help="markdown file to write (default: benchmarks/results.md; "
                                                  "--quick: benchmarks/_work/results-quick.md)")
    ap.add_argument("--other-python", default="3.13.0",
                    help="a second CPython (pyenv version or path) for the W1/W5 rows on a newer interpreter; "
                         "'' skips them (default 3.13.0)")
    ap.add_argument("--w5-steps", type=int, default=10, help="timed W5 steps per round (default 10)")
    ap.add_argument("--install-scalargrad", action="store_true",
                    help="pip install scalargrad==1.0.5 into benchmarks/_work/site first")
    args = ap.parse_args(argv)
    args.steps, args.w3_size = W.W4_STEPS, W.W3_SIZE
    if args.quick:
        args.repeats, args.budget, args.steps, args.w3_size, args.min_time = 1, 5.0, 3, 10_000, 0.0
        args.rounds = 1
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    out_path = args.out or os.path.join(HERE, "_work", "results-quick.md" if args.quick else "results.md")
    if not args.out and not args.quick:
        out_path = os.path.join(HERE, "results.md")
    if args.install_scalargrad:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", SITE, "scalargrad==1.0.5"],
                       check=True)

    only = [s for s in args.only.split(",") if s]
    pick = [s for s in args.engines.split(",") if s]
    info = machine_info()
    print("\n".join(info), flush=True)
    results = {}
    started = time.perf_counter()
    for case, engines in plan(args.quick):
        if only and not any(case.startswith(o) for o in only):
            continue
        todo = []
        for e in engines:
            if pick and e not in pick:
                continue
            # W2 is one chain at growing depth: an engine that crashed at a smaller
            # depth crashes again (RecursionError is about depth); don't spend minutes on it
            if case.startswith("W2-"):
                smaller = [r for (e2, c2), r in results.items() if e2 == e and c2.startswith("W2-")
                           and int(c2[3:]) < int(case[3:]) and r["status"] == "crash"]
                if smaller:
                    results[(e, case)] = {"engine": e, "case": case, "status": "skipped",
                                          "error": f"not run (crashed at {int(smaller[0]['case'][3:]):,})"}
                    print(f"{case:10s} {e:15s} skipped: crashed at a smaller depth", flush=True)
                    continue
            todo.append(e)
        # Rounds: each engine's cell runs as `rounds` fresh processes, taken in
        # turn with the case's other engines (A B C, A B C, ...), and their
        # timings are pooled.  Why: this machine's speed drifts by up to 2x
        # from one minute to the next (float_limit's W1 median was 4.9 ms in
        # one full run and 8.6-9.9 ms in others); measured in the same
        # minutes, an engine and its baseline drift together, so the ratios
        # hold still.  Each round asks for its share of the repeats still
        # missing and of --min-time.  A cell gets no further round once its
        # rounds have used --budget seconds of wall time (micrograd's W4 takes
        # minutes: one round) or a round did not finish OK.  MEM cells are
        # measured once (tracemalloc: no timings to pool).
        rounds = 1 if case.startswith("MEM") else args.rounds
        for rnd in range(rounds):
            for e in todo:
                first = results.get((e, case))
                if rnd and (first["status"] != "ok" or first.get("stopped") or first["wall"] > args.budget):
                    continue
                have = len(first["times"].get("total", ())) if rnd else 0
                r = run_case(e, case, args, repeats=max(1, -(-(args.repeats - have) // (rounds - rnd))),
                             min_time=args.min_time / rounds)
                if rnd == 0:
                    r["rounds"] = 1
                    results[(e, case)] = r
                    continue
                first["wall"] += r.get("wall", 0.0)
                if r["status"] == "ok":
                    for k, v in r.get("times", {}).items():
                        first["times"].setdefault(k, []).extend(v)
                    first["rounds"] += 1
                else:  # reported, not pooled; and no further round for this cell
                    first["stopped"] = True
                    first.setdefault("later", []).append(r.get("error") or r["status"])
        for e in todo:
            r = results[(e, case)]
            t = r.get("times", {}).get("total")
            shown = f"median {secs(med(t))} (n={len(t)}, {r.get('rounds', 1)} rounds)" if t else (r.get("error") or r["status"])
            print(f"{case:10s} {e:15s} {shown}   [{r.get('wall', 0):.0f} s wall]", flush=True)

    # --- W5 (the GPT step, benchmarks/w5.py) and W1 on a second, newer CPython ---
    w5_lines, newer_lines, goals = [], [], []
    if not only or any(o in ("W5", "W1") for o in only):
        w5_lines, newer_lines, goals = newer_pythons(args, only)
    traced, flim = results.get(("chainrule_traced", "W1")), results.get(("float_limit", "W1"))
    if traced and flim and traced["status"] == flim["status"] == "ok":
        goals.insert(0, _goal("W1 traced within 0.75x float_limit", med(traced["times"]["total"])
                              / med(flim["times"]["total"]), 0.75, "x float_limit", at_most=True))
    compile_lines = []
    if not only or any(o in ("W5", "W1") for o in only):
        compile_lines, compile_goals = compile_cost(args)
        goals += compile_goals

    # --- report ---
    label_w2 = {n: f"W2 chain {n:,}" for n in W.W2_SIZES}
    rows = ["| W1 split | engine | forward median | backward median | forward x micrograd | backward x micrograd |",
            "|---|---|---:|---:|---:|---:|"]
    mgw1 = results.get(("micrograd", "W1"))
    for e in ENGINES:
        r = results.get((e, "W1"))
        if r and r["status"] == "ok":
            f, b = med(r["times"]["fwd"]), med(r["times"]["bwd"])
            if mgw1 and mgw1["status"] == "ok":
                mf, mb = ratio(med(mgw1["times"]["fwd"]) / f), ratio(med(mgw1["times"]["bwd"]) / b)
            else:
                mf = mb = "—"
            rows.append(f"| W1 | {e} | {secs(f)} | {secs(b)} | {mf} | {mb} |")
    cases = [("W1", W1_ENGINES, "W1 MLP step (fwd+bwd)", "total")]
    cases += [(f"W2-{n}", ENGINES, label_w2[n], "total") for n in W.W2_SIZES]
    cases += [("W3", ENGINES, f"W3 {args.w3_size:,} products", "total"),
              ("W3-dot", ["chainrule", "chainrule_gcpaused"], f"W3 {args.w3_size:,} products, engine.dot", "total"),
              ("W3-fused", ["chainrule", "chainrule_gcpaused"], f"W3 {args.w3_size:,} products, builtin sum "
                                                                 f"inside engine.fused()", "total"),
              ("W4", ENGINES, f"W4 demo, {args.steps} steps", "total")]
    main_rows = time_table(results, cases)
    mrows, mg_nodes = mem_table(results)
    trows = ["| target (issues 8, 15) | chainrule | | chainrule with `engine.gc_paused()` | |",
             "|---|---|---|---|---|"]
    trows += [f"| {a} | {b} | {c} | {b2} | {c2} |" for (a, b, c), (_, b2, c2)
              in zip(targets(results, mg_nodes), targets(results, mg_nodes, "chainrule_gcpaused"))]
    checks = []
    for (e, case), r in sorted(results.items()):
        if r.get("check") and case in ("W1", "W4"):
            c = r["check"]
            checks.append(f"{case} {e}: loss {c['loss']:.10f}" + (f", accuracy {c['accuracy']:.2f}" if "accuracy" in c else ""))
    notes = sorted({r.get("note") for r in results.values() if r.get("note")})
    notes += [f"{case} {e}: round {r['rounds'] + 1} failed ({'; '.join(r['later'])}); the timings of the "
              f"{r['rounds']} round(s) before it are shown"
              for (e, case), r in sorted(results.items()) if r.get("later")]
    elapsed = time.perf_counter() - started

    md_lines = [
        "# Benchmark results" + (" (QUICK smoke run: not representative)" if args.quick else ""),
        "",
        "Written by `python benchmarks/run.py`" + (" --quick" if args.quick else "") + f"; took {elapsed / 60:.1f} min.",
        "",
        *info,
        f"- repeats: {args.repeats} per cell; fewer once a slow cell has used {args.budget:.0f} s (micrograd, "
        f"scalargrad, torch_scalar: 1-3), more (up to 100 per round) until a cheap cell has used "
        f"{args.min_time:g} s; column n. Each cell runs as {args.rounds} fresh processes (rounds), taken in turn "
        "with the same case's other engines so that an engine and its baseline are timed in the same minutes; "
        "a cell gets no further round once it has used the budget (column n counts all rounds). Ratios use medians, and mins in brackets (noise only adds time)",
        "",
        "## Targets", "", *trows, "",
        *(["| target (issue 15) | measured | |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in goals],
           ""] if goals else []),
        *(["## What compiling costs (benchmarks/compile_cost.py)", "", *compile_lines, ""] if compile_lines else []),
        "## Time", "",
        "Speed-up vs micrograd = micrograd's median / this median; x float_limit = this median / "
        "float_limit's median, both from this run. W2 cells of an engine that already crashed at a "
        "smaller depth are not re-run.",
        "", *main_rows, "", *rows, "",
        "## Memory (tracemalloc, Python heap only; torch's C++ heap is invisible to it)", "",
        "Graph heap = heap growth during the forward (the graph it keeps alive). Per micrograd-equivalent "
        f"node: W1 divides by micrograd's node count for the same step ({mg_nodes:,}; the issue's 68,818 "
        "counts raw-float inputs), W2 by 2 per chain step (mul + tanh).",
        "", *mrows, "",
        "## W5: a microgpt-style GPT step (benchmarks/w5.py)", "",
        "Variants: `minimal` is a ~30-line `__slots__` + local-gradients Value class (the baseline); "
        "`chainrule` is engine.Value dropped into the same code; `chainrule_fused` the same inside "
        "`engine.fused()`; `chainrule_nn` the model built from nn's blocks; `chainrule_traced` that step "
        "compiled once with `engine.compile_graph` and replayed; `torch_batched` PyTorch on whole sequences.",
        "", *w5_lines, "",
        *newer_lines, "",
        "## Same numbers from every engine (loss of the W1 step / final W4 loss)", "",
        *[f"- {c}" for c in checks], "",
        "## Notes", "", *[f"- {n}" for n in notes],
    ]
    text = "\n".join(md_lines) + "\n"
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        f.write(text)
    print("\n" + text)
    print(f"written to {os.path.relpath(out_path, ROOT)}")
    return 0


def newer_pythons(args, only) -> tuple:
    """(W5 tables for this Python and --other-python, W1 rows on --other-python)."""
    import w5
    w5_lines, newer, goals = [], [], []
    others = [sys.executable]
    if args.other_python:
        try:
            others.append(w5.python_for(args.other_python))
        except SystemExit as e:
            newer.append(f"(no {args.other_python}: {e})")
    rounds = 1 if args.quick else args.rounds
    steps = 2 if args.quick else args.w5_steps
    if not only or "W5" in only:
        for py in others:
            variants = [v for v in w5.VARIANTS if not (v == "torch_batched" and py != sys.executable)]
            lines, _, medians = w5.measure(py, variants, steps, rounds)
            print("\n".join(lines), flush=True)
            w5_lines += lines + [""]
            goals += w5_targets(medians, _version(py))
    if len(others) > 1 and (not only or "W1" in only):
        py = others[1]
        site = os.path.join(HERE, "_work", f"site-{os.path.basename(os.path.dirname(os.path.dirname(py)))}")
        got = subprocess.run([py, "-m", "pip", "install", "--quiet", "--target", site, "micrograd==0.1.0"],
                             capture_output=True, text=True)
        env = dict(os.environ, PYTHONPATH=site)
        engines = ["chainrule", "chainrule_gcpaused"] + (["micrograd"] if got.returncode == 0 else [])
        cell = {}
        for _ in range(rounds):
            for e in engines:
                r = run_case(e, "W1", args, repeats=max(1, args.repeats // rounds), python=py, env=env)
                if r["status"] == "ok":
                    cell.setdefault(e, []).extend(r["times"]["total"])
        version = _version(py)
        newer += [f"## W1 on CPython {version}", "", "| engine | median | x micrograd |", "|---|---:|---:|"]
        mg = med(cell["micrograd"]) if cell.get("micrograd") else None
        for e in engines:
            if cell.get(e):
                m = med(cell[e])
                newer.append(f"| {e} | {secs(m)} | {ratio(mg / m) if mg else '—'} |")
                if mg and e != "micrograd":
                    goals.append(_goal(f"W1 step >= 45x faster than micrograd, CPython {version}, {e}",
                                       mg / m, 45, "x faster"))
        print("\n".join(newer), flush=True)
    return w5_lines, newer, goals


def compile_cost(args) -> tuple:
    """(the compile_cost.py table, issue 15's compile targets), measured in a fresh process."""
    import compile_cost as CC
    cmd = [sys.executable, os.path.join(HERE, "compile_cost.py"), "--json", "--repeats", "3" if args.quick else "7"]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        return [f"compile_cost.py failed: {(p.stderr or p.stdout).strip().splitlines()[-1:]}"], []
    results = json.loads(p.stdout)
    goals = []
    for key, r in results.items():
        goals.append(_goal(f"{key}: compiling <= 3 eager steps (by time, min of repeats)",
                           r["compile"] / r["eager"], 3, " steps", at_most=True))
        goals.append(_goal(f"{key}: compiling's peak memory <= 3x the graph's", r["peak"] / r["graph"], 3, "x",
                           at_most=True))
    return [f"CPython {platform.python_version()}; min of the repeats; memory by tracemalloc.", "",
            *CC.table(results)], goals


def _version(python: str) -> str:
    return subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True).stdout.strip()


def _goal(label: str, got: float, want: float, unit: str, at_most: bool = False) -> tuple:
    ok = got <= want if at_most else got >= want
    return label, f"{got:.2f}{unit}", "PASS" if ok else "MISS"


def w5_targets(medians: dict, version: str) -> list:
    """Issue 15's W5 targets, as (target, measured, PASS/MISS), from one w5.measure() table."""
    base = medians.get("minimal", (None,))[0]
    if not base:
        return []
    out = []
    for v, want, what in (("chainrule", 2, "drop-in Value"), ("chainrule_fused", 5, "drop-in under fused()"),
                          ("chainrule_nn", 20, "nn building blocks"), ("chainrule_traced", 50, "traced, steady state")):
        if v in medians:
            out.append(_goal(f"W5 {what} >= {want}x the minimal Value, CPython {version}",
                             base / medians[v][0], want, "x"))
    step, compile_s = medians.get("chainrule_traced", (None, None))
    if step and compile_s is not None:
        out.append(_goal(f"W5 traced >= 20x over 1,000 steps with compiling counted, CPython {version}",
                         base * 1000 / (compile_s + 1000 * step), 20, "x"))
    return out


if __name__ == "__main__":
    sys.exit(main())
