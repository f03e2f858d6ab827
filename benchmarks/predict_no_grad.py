"""Issue 13 item 5, the nn side: is ``predict`` under ``no_grad`` as fast as nn's float-only forward?

    python benchmarks/predict_no_grad.py            # 30 interleaved rounds

``Module.predict`` runs a plain-float copy of the forward pass (``_float_fn``
in nn/layers.py: weights snapshotted as floats, no Value objects).  The
alternative is the graph forward under ``engine.no_grad()`` (no nodes
recorded), layer by layer through ``engine.linear``, which would let nn
delete its second forward.  (Since the float forward stays faster, an MLP's
own ``forward_batch`` runs it under no_grad too.)  Both on a W1-sized
MLP 2-16-16-1 over 400 points, timed in turns in one process (this shared
machine's speed drifts between minutes, so only same-minute ratios count);
medians and the ratio no_grad / float.  Outputs are checked equal first.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from engine import Value, no_grad  # noqa: E402
from nn import MLP  # noqa: E402
from nn.data import make_moons  # noqa: E402


def graph_predict(model, X):
    # layer by layer: an MLP's own forward_batch runs the float forward under no_grad
    with no_grad():
        out = X
        for m in model.modules:
            out = m.forward_batch(out)
    return [o[0].data if len(o) == 1 else [v.data for v in o] for o in out]


def main(rounds: int = 30) -> None:
    X, _ = make_moons(400, seed=0)
    model = MLP(2, [16, 16, 1], seed=0).eval()
    assert model.predict(X) == graph_predict(model, X), "the two forwards disagree"
    times = {"float forward (predict)": [], "no_grad graph forward": []}
    for _ in range(rounds):
        for name, fn in (("float forward (predict)", model.predict), ("no_grad graph forward",
                                                                      lambda X: graph_predict(model, X))):
            t0 = time.perf_counter()
            fn(X)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:26s} {v * 1e3:7.2f} ms (median of {rounds})")
    ratio = med["no_grad graph forward"] / med["float forward (predict)"]
    print(f"no_grad / float = {ratio:.2f}x  (delete _float_fn when <= 1.10)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
