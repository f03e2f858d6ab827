"""Time micrograd's demo (MLP 2-16-16-1, max-margin loss + L2, 100 moons points) on micrograd and on chainrule.

    python scripts/micrograd_demo_speed.py [--steps 5] [--points 100]

The same demo code runs on both, only the imports differ (``micrograd.engine``
/ ``micrograd.nn`` against ``engine.micrograd`` / ``nn.micrograd``), from the
same seed, so the losses must agree; the engines take turns step by step so
both see the same machine load.  Needs ``pip install micrograd==0.1.0``
(the ``test`` extra has it).  Prints seconds per step and the ratio.
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import time


def moons(n: int, seed: int = 1):
    r = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = math.pi * r.random()
        if i % 2:
            X.append([math.cos(t) + r.gauss(0, 0.1), math.sin(t) + r.gauss(0, 0.1)])
            y.append(1)
        else:
            X.append([1 - math.cos(t) + r.gauss(0, 0.1), 0.5 - math.sin(t) + r.gauss(0, 0.1)])
            y.append(-1)
    return X, y


def make(V, nn_mod):
    random.seed(1337)
    return nn_mod.MLP(2, [16, 16, 1])


def step(V, model, X, y, k):
    """One step of micrograd's demo loop; returns the loss."""
    inputs = [list(map(V, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
    total = data_loss + reg_loss
    model.zero_grad()
    total.backward()
    lr = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= lr * p.grad
    return total.data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--points", type=int, default=100)
    args = ap.parse_args()
    from micrograd import nn as mg_nn
    from micrograd.engine import Value as MgValue

    import nn.micrograd as cr_nn
    from engine.micrograd import Value as CrValue

    X, y = moons(args.points)
    engines = {"micrograd 0.1.0": (MgValue, mg_nn), "chainrule (engine.micrograd)": (CrValue, cr_nn)}
    models = {name: make(V, m) for name, (V, m) in engines.items()}
    times = {name: [] for name in engines}
    losses = {name: [] for name in engines}
    for k in range(args.steps):
        for name, (V, _) in engines.items():
            t = time.perf_counter()
            losses[name].append(step(V, models[name], X, y, k))
            times[name].append(time.perf_counter() - t)
    a, b = engines
    for (la, lb) in zip(losses[a], losses[b]):
        assert abs(la - lb) <= 1e-9 * max(1.0, abs(la)), (la, lb)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name in engines:
        print(f"{name:30s} {med[name] * 1000:9.1f} ms per step (median of {args.steps})")
    print(f"chainrule is {med[a] / med[b]:.0f}x faster on micrograd's demo; losses agree to 1e-9 "
          f"(last {losses[b][-1]:.6f})")


if __name__ == "__main__":
    main()
