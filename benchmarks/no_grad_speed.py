"""How much faster is a forward under ``engine.no_grad()`` than recording it?

    python benchmarks/no_grad_speed.py          # 25 interleaved rounds, medians

Four forwards, each timed recorded and under no_grad in turns in one
process (this machine's speed drifts between minutes; only same-minute
ratios count):

* W1's forward (nn.MLP.forward_batch plus the loss).  Under no_grad an MLP
  runs its float forward and makes Values for its outputs only;
* the same MLP layer by layer (``Layer.forward_batch``, i.e. engine.linear):
  the engine's own no_grad, one leaf Value per neuron and sample;
* 10,000 elementwise ops, and micrograd-style neurons (``sum(w * x ...)``,
  two nodes per term).  Under no_grad every op still makes its result
  Value; what it skips is storing the parents and the local derivatives,
  which is why the gain is modest where a node is one op.
"""
import gc
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import engine  # noqa: E402
from engine import Value, no_grad  # noqa: E402
import workloads as W  # noqa: E402
from adapters import load  # noqa: E402


def main(rounds: int = 25) -> None:
    m = load("chainrule")
    X, Y = W.moons()
    s = m.w1_setup(X, Y, W.init_weights())
    xs = [Value(0.001 * i) for i in range(2000)]

    def w1():
        return m.w1_forward(s)

    layers = s["model"].modules
    X = s["X"]

    def layer_by_layer():
        hs = X
        for layer in layers:
            hs = layer.forward_batch(hs)
        return hs

    def elementwise():
        out = None
        for x in xs:
            out = ((x * 1.5 + 0.3).tanh() * x).exp()
        return out

    def neurons():
        ws = xs[:16]
        return [sum((w * x for w, x in zip(ws, xs[i:i + 16])), Value(0.0)).relu() for i in range(0, 400, 4)]

    print(f"CPython {sys.version.split()[0]}, {rounds} rounds, medians")
    for name, fn in (("W1 forward (nn.MLP.forward_batch)", w1), ("W1's MLP layer by layer (engine.linear)", layer_by_layer),
                     ("10,000 elementwise ops", elementwise),
                     ("micrograd-style neurons, sum(w * x)", neurons)):
        rec, ng = [], []
        for _ in range(rounds):
            for mode, bucket in ((engine.enable_grad, rec), (no_grad, ng)):
                gc.collect()
                t = time.perf_counter()
                with mode():
                    r = fn()
                bucket.append(time.perf_counter() - t)
                # drop this round's graph (W1 also keeps its scores) before the next timing, so
                # neither mode's time includes freeing the other's: that cost 1.3x vs 1.6x on 3.13
                r = None  # noqa: F841
                s.pop("scores", None)
        a, b = statistics.median(rec), statistics.median(ng)
        print(f"  {name}: recorded {a * 1e3:.2f} ms, no_grad {b * 1e3:.2f} ms: no_grad {a / b:.2f}x faster")


if __name__ == "__main__":
    main()
