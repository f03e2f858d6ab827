"""Smoke test of the benchmark harness (benchmarks/): every adapter computes the
same numbers on a small workload.  Correctness only: no timings are asserted.
Adapters whose engine is not installed (micrograd, torch, scalargrad) skip.
"""
import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import workloads as W  # noqa: E402
from adapters import ENGINES, load  # noqa: E402

SMALL = [2, 4, 3, 1]  # a small MLP: the adapters take any layer sizes


def adapter(name):
    try:
        return load(name)
    except ImportError as e:
        pytest.skip(f"{name} not installed: {e}")


@pytest.fixture(scope="module")
def data():
    X, Y = W.moons(12)
    return X, Y, W.init_weights(SMALL)


@pytest.fixture(scope="module")
def reference(data):
    """float_limit's hand-written forward/backward: the numbers every engine must match."""
    m = load("float_limit")
    s = m.w1_setup(*data)
    loss = m.w1_forward(s)
    m.w1_backward(s, loss)
    return m.w1_result(s, loss)


def test_float_limit_matches_finite_differences(data, reference):
    X, Y, ws = data
    m = load("float_limit")
    loss0, grads = reference
    flat = W.flat_params(ws)
    eps = 1e-6
    for i in range(0, len(flat), 5):  # every 5th parameter is plenty

        def loss_at(delta):
            p = list(flat)
            p[i] += delta
            it = iter(p)  # back to (W, b) per layer from micrograd's order (w... then b per neuron)
            w2 = []
            for Wm, b in ws:
                rows, bs = [], []
                for row in Wm:
                    rows.append([next(it) for _ in row])
                    bs.append(next(it))
                w2.append((rows, bs))
            return m.w1_forward(m.w1_setup(X, Y, w2))
        numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
        assert grads[i] == pytest.approx(numeric, abs=1e-6)


@pytest.mark.parametrize("name", list(ENGINES))
def test_w1_same_loss_and_gradients(name, data, reference):
    m = adapter(name)
    s = m.w1_setup(*data)
    for _ in range(2):  # twice: zero_grad must really reset
        m.w1_zero_grad(s)
        loss = m.w1_forward(s)
        m.w1_backward(s, loss)
    got_loss, got_grads = m.w1_result(s, loss)
    ref_loss, ref_grads = reference
    assert got_loss == pytest.approx(ref_loss, rel=1e-12)
    assert got_grads == pytest.approx(ref_grads, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", list(ENGINES))
def test_w2_w3_w4_agree(name, data):
    m = adapter(name)
    if not hasattr(m, "w3_setup"):
        pytest.skip(f"{name} implements W1 only")
    ref = load("float_limit")
    if hasattr(m, "w2"):
        assert m.w2(50) == pytest.approx(ref.w2(50), rel=1e-12)
    a, b = W.w3_vectors(100)
    want = ref.w3(ref.w3_setup(a, b))
    for fn in [m.w3] + list(getattr(m, "extra_w3", {}).values()):
        out, ga, gb = fn(m.w3_setup(a, b))
        assert out == pytest.approx(want[0], rel=1e-12)
        assert ga == pytest.approx(want[1]) and gb == pytest.approx(want[2])
    if hasattr(m, "w4"):
        X, Y, ws = data
        assert m.w4(X, Y, ws, 3) == pytest.approx(ref.w4(X, Y, ws, 3), rel=1e-9)


def test_worker_runs_a_cell_in_a_subprocess():
    p = subprocess.run([sys.executable, os.path.join(BENCH, "worker.py"), "chainrule", "W2-200", "--repeats", "1", "--min-time", "0"],
                       capture_output=True, text=True, timeout=120)
    line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, p.stderr
    r = json.loads(line[0][7:])
    assert r["status"] == "ok" and len(r["times"]["total"]) == 1


def test_rounds_take_engines_in_turn_and_pool_their_timings(monkeypatch, tmp_path):
    # run.py's rounds: A B C, A B C, ... with each cell's timings pooled and
    # the repeats spread over the rounds; a crashed cell, one over the
    # budget, or one whose later round fails gets no further round.  The
    # worker subprocess is replaced by a stub: this tests the scheduling.
    import run
    calls = []

    def fake_run_case(engine, case, args, repeats=0, min_time=-1.0):
        calls.append((engine, repeats))
        if engine == "micrograd_nogc":
            return {"engine": engine, "case": case, "status": "crash", "error": "RecursionError", "wall": 0.1}
        if engine == "float_limit" and len([c for c in calls if c[0] == engine]) == 2:
            return {"engine": engine, "case": case, "status": "crash", "error": "timeout after 900 s", "wall": 900.0}
        per_step = {"chainrule": 0.02, "float_limit": 0.01, "micrograd": 1.0}[engine]
        wall = 30.0 if engine == "micrograd" else 0.5  # micrograd: over the 10 s budget
        times = {k: [per_step] * repeats for k in ("total", "fwd", "bwd")}
        return {"engine": engine, "case": case, "status": "ok", "times": times, "wall": wall}

    monkeypatch.setattr(run, "run_case", fake_run_case)
    monkeypatch.setattr(run, "machine_info", lambda: ["- machine: stub"])
    out = tmp_path / "results.md"
    assert run.main(["--only", "W1", "--engines", "chainrule,micrograd,micrograd_nogc,float_limit",
                     "--rounds", "3", "--repeats", "5", "--out", str(out), "--other-python", ""]) == 0
    assert calls == [("chainrule", 2), ("micrograd", 2), ("micrograd_nogc", 2), ("float_limit", 2),
                     ("chainrule", 2), ("float_limit", 2),  # float_limit's round 2 fails: no round 3
                     ("chainrule", 1)]
    text = out.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| W1 MLP step (fwd+bwd) | chainrule |"))
    assert row.split("|")[5].strip() == "5"  # n: 2 + 2 + 1 timings from the 3 rounds
    assert "3 fresh processes (rounds)" in text
    assert "W1 float_limit: round 2 failed (timeout after 900 s)" in text


def test_compile_cost_measures_a_replay_of_the_same_graph():
    import compile_cost
    import engine

    record, params = compile_cost._w1()
    r = compile_cost.measure(record, params, repeats=1)
    assert r["nodes"] == engine.compile_graph(record(), params).n_nodes > 0
    assert 0 < r["kept"] <= r["peak"] and r["graph"] > 0  # the Compiled is part of what compiling allocated
    assert r["eager"] > 0 and r["compile"] > 0
    lines = compile_cost.table({"W1": r})
    assert lines[2].startswith("| W1 (MLP batch) | 6,805 |")
