"""PyPy: backward() runs the reference algorithm there (the fast path needs CPython's float identity).

Runs only where a ``pypy3`` is on PATH (Debian: ``apt install pypy3``); the
script checks backward() against grad() and central differences on random
graphs, fused() and compile_graph, with the engine from this checkout.
"""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = r"""
import math, random, sys
sys.path.insert(0, sys.argv[1])
import engine
from engine import Value, autograd
assert not autograd.FAST, "PyPy must run the reference backward"
x = Value(2.0); z = (x * 3.0) * (x * 3.0); z.backward()
assert x.grad == 36.0, x.grad
rng = random.Random(0)
for trial in range(300):
    xs = [Value(rng.uniform(0.5, 2.0)) for _ in range(3)]
    h = (xs[0] * xs[1] + xs[2].tanh() * xs[0]).sigmoid()
    y = engine.dot([h, xs[1], h], [xs[2], h, 2.0]) - xs[1].exp() / xs[2] + h ** 2
    y.backward()
    want = engine.grad(y, xs)
    assert all(abs(v.grad - g) <= 1e-12 * max(1.0, abs(g)) for v, g in zip(xs, want)), trial
    assert engine.gradcheck(lambda a, b, c: (a * b + c.tanh() * a).sigmoid() * c, [v.data for v in xs])
with engine.fused():
    s = sum(w * v for w, v in zip(xs, xs[::-1]))
s.backward()
f = engine.compile_graph(y, xs)
out, grads = f.run([v.data for v in xs])
assert out == y.data
print("ok")
"""


@pytest.mark.skipif(shutil.which("pypy3") is None, reason="no pypy3 on PATH (Debian: apt install pypy3)")
def test_pypy_computes_the_same_gradients():
    out = subprocess.run(["pypy3", "-c", SCRIPT, ROOT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
