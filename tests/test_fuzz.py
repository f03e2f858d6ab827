"""Fuzz: random programs of engine ops, checked against invariants.

A program is a list of steps over a growing pool of Values: new leaves,
unary/binary/fused ops (Value-Value and Value-number forms), ops inside
``no_grad`` blocks, backward (twice), ``grad()``, zero_grad, and reuse of
nodes across several graphs.  Invariants:

* nothing raises (the numerical policy never raises);
* backward's leaf gradients equal ``grad()`` and central finite differences
  (where the graph is well conditioned: values bounded, no kinks nearby);
* a second backward doubles the leaves' gradient increments exactly;
* resetting ``.grad`` to 0 gives 0; no_grad results are leaves.
"""
import math

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, note  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import engine  # noqa: E402
from engine import Value, no_grad, ops  # noqa: E402

UNARY = sorted(ops.UNARY)
BINARY = sorted(ops.BINARY)
LIMIT = 1e4  # keep values where finite differences are trustworthy


def safe_unary(name, x):
    """Is op(x) inside the well-conditioned domain?"""
    if name in ("log", "sqrt"):
        return x > 0.1
    if name == "exp":
        return x < 8
    if name in ("relu", "abs"):
        return abs(x) > 1e-3  # away from the kink
    return True


def safe_binary(name, a, b):
    if name == "div":
        return abs(b) > 0.1
    if name == "pow":
        return 0.1 < a < 10 and abs(b) < 3
    return True


step = st.one_of(
    st.tuples(st.just("leaf"), st.floats(-3, 3, allow_nan=False)),
    st.tuples(st.just("unary"), st.sampled_from(UNARY), st.integers(0, 50)),
    st.tuples(st.just("binary"), st.sampled_from(BINARY), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("const"), st.sampled_from(BINARY), st.integers(0, 50),
              st.floats(-3, 3, allow_nan=False), st.booleans()),
    st.tuples(st.just("sum"), st.lists(st.integers(0, 50), min_size=1, max_size=6)),
    st.tuples(st.just("dot"), st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=5)),
    st.tuples(st.just("nograd"), st.sampled_from(BINARY), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("check"), st.integers(0, 50)),
)


class Program:
    """Runs steps; each pool entry is (Value, recipe) where recipe(env) recomputes its float."""

    def __init__(self):
        self.leaves = []
        self.pool = []
        self.leaf_index = {}

    def pick(self, i):
        return self.pool[i % len(self.pool)]

    def add(self, v, recipe, kinky=False):
        if math.isfinite(v.data) and abs(v.data) < LIMIT:
            self.pool.append((v, recipe, kinky))

    def run(self, s):
        kind = s[0]
        if kind == "leaf" or not self.pool:
            x = s[1] if kind == "leaf" else 0.5
            v = Value(x, label=f"x{len(self.leaves)}")
            k = len(self.leaves)
            self.leaves.append(v)
            self.pool.append((v, lambda env, k=k: env[k], False))
            return
        if kind == "unary":
            _, name, i = s
            v, r, kink = self.pick(i)
            if safe_unary(name, v.data):
                out = getattr(v, {"neg": "__neg__", "abs": "__abs__"}.get(name, name))()
                self.add(out, lambda env, r=r, f=ops.FORWARD[name]: f(r(env)),
                         kink or (name in ("relu", "abs") and abs(v.data) < 1e-2))
        elif kind == "binary":
            _, name, i, j = s
            (a, ra, ka), (b, rb, kb) = self.pick(i), self.pick(j)
            if safe_binary(name, a.data, b.data):
                out = _apply(name, a, b)
                self.add(out, lambda env, f=ops.FORWARD[name]: f(ra(env), rb(env)), ka or kb)
        elif kind == "const":
            _, name, i, c, left = s
            v, r, k = self.pick(i)
            a, b = (c, v.data) if left else (v.data, c)
            if safe_binary(name, a, b):
                out = _apply(name, c, v) if left else _apply(name, v, c)
                f = ops.FORWARD[name]
                recipe = (lambda env: f(c, r(env))) if left else (lambda env: f(r(env), c))
                self.add(out, recipe, k)
        elif kind == "sum":
            items = [self.pick(i) for i in s[1]]
            out = engine.sum([v for v, _, _ in items] + [1.5])
            self.add(out, lambda env: math.fsum([r(env) for _, r, _ in items]) + 1.5,
                     any(k for _, _, k in items))
        elif kind == "dot":
            pairs = [(self.pick(i), self.pick(j)) for i, j in s[1]]
            a = [p[0][0] for p in pairs]
            b = [p[1][0] if n % 2 == 0 else p[1][0].data for n, p in enumerate(pairs)]  # mix in constants
            out = engine.dot(a, b)

            def recipe(env, pairs=pairs):
                total = 0.0
                for n, ((_, ra, _), (vb, rb, _)) in enumerate(pairs):
                    total += ra(env) * (rb(env) if n % 2 == 0 else vb.data)
                return total
            self.add(out, recipe, any(p[0][2] or p[1][2] for p in pairs))
        elif kind == "nograd":
            _, name, i, j = s
            a, b = self.pick(i)[0], self.pick(j)[0]
            with no_grad():
                out = _apply(name, a, b)
            assert out.op == "" and out.parents == ()
        elif kind == "check":
            self.check(self.pick(s[1]))

    def check(self, entry):
        root, recipe, kinky = entry
        leaves = self.leaves
        before = [x.grad for x in leaves]
        root.backward()
        once = [x.grad - g0 for x, g0 in zip(leaves, before)]
        root.backward()
        twice = [x.grad - g0 for x, g0 in zip(leaves, before)]
        for a, b in zip(once, twice):
            if math.isfinite(a):
                # abs: terms of size ~1 can cancel to ~1e-92; the second sum may round differently
                assert b == pytest.approx(2 * a, rel=1e-12, abs=1e-9)
        via_grad = engine.grad(root, leaves)
        for a, g in zip(once, via_grad):
            if math.isfinite(a):
                assert g == pytest.approx(a, rel=1e-9, abs=1e-12)
        # finite differences on the recipe (independent of the engine)
        if not kinky:
            env = [x.data for x in leaves]
            for k, a in enumerate(once):
                h = 1e-6 * max(1.0, abs(env[k]))
                hi = env.copy(); hi[k] += h
                lo = env.copy(); lo[k] -= h
                fd = (recipe(hi) - recipe(lo)) / (2 * h)
                if math.isfinite(fd) and math.isfinite(a) and abs(fd) < 1e4:
                    assert a == pytest.approx(fd, rel=1e-3, abs=1e-4), f"leaf x{k}"
        for x in leaves:  # zero_grad
            x.grad = 0.0
        assert all(x.grad == 0.0 for x in leaves)


def _apply(name, a, b):
    return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
            "div": lambda: a / b, "pow": lambda: a ** b}[name]()


@given(st.lists(step, min_size=1, max_size=40))
def test_random_programs_keep_the_invariants(steps):
    prog = Program()
    for s in steps:
        note(repr(s))
        prog.run(s)
    if prog.pool:
        prog.check(prog.pool[-1])
