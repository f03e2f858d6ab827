"""chainrule: this repo's engine (and nn.MLP when it is importable)."""
from __future__ import annotations

import engine
from engine import Value

try:  # nn is young: fall back to the same neurons built on engine alone
    import nn
    from nn.module import Layer as _NNLayer
except Exception:  # noqa: BLE001 - any import problem means "use the fallback"
    nn = None

NOTE = ""


class _MLP:
    """nn.Neuron's computation on engine alone: dot(w + [b], x + [1.0]), relu on hidden layers."""

    def __init__(self, weights):
        self.layers = [[[Value(w) for w in row] + [Value(bj)] for row, bj in zip(W, b)] for W, b in weights]

    def __call__(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            xs = list(x) + [1.0]
            x = [engine.dot(wb, xs) for wb in layer] if i == last else [engine.dot(wb, xs).relu() for wb in layer]
        return x[0]

    def canonical(self):
        return [p for layer in self.layers for wb in layer for p in wb]


def _model(weights):
    """(callable model, parameters in micrograd order, description)."""
    global NOTE
    if nn is not None:
        try:
            m = nn.MLP(len(weights[0][0][0]), [len(b) for _, b in weights], seed=0)
            m.load_state_dict({**{f"{i}.weight": W for i, (W, _) in enumerate(weights)},
                               **{f"{i}.bias": b for i, (_, b) in enumerate(weights)}})
            layers = [mod for _, mod in m.named_modules() if isinstance(mod, _NNLayer)]
            canon = [p for layer in layers for n in layer.neurons for p in n.w + [n.b]]
            NOTE = "chainrule W1 uses nn.MLP.forward_batch (one fused dot node + relu per neuron and point)"
            return m, canon
        except Exception as e:  # noqa: BLE001
            NOTE = f"nn.MLP unusable ({type(e).__name__}: {e}); W1 uses the same neurons built on engine"
    else:
        NOTE = "nn not importable; W1 uses nn.Neuron's computation built on engine"
    m = _MLP(weights)
    return m, m.canonical()


# --- W1 -----------------------------------------------------------------------
def w1_setup(X, Y, weights):
    model, params = _model(weights)
    return {"model": model, "params": params, "X": X, "Y": Y, "inv_n": 1.0 / len(X)}


def w1_forward(s):
    model, Y = s["model"], s["Y"]
    # nn's batch call, as nn.fit makes it (same nodes as [model(x) for x in X])
    batch = getattr(model, "forward_batch", None)
    s["scores"] = scores = batch(s["X"]) if batch else [model(x) for x in s["X"]]
    # max-margin loss, same as nn.losses.hinge_loss: relu(score * -y + 1), summed as ONE node
    data_loss = engine.sum([(sc * -y + 1.0).relu() for sc, y in zip(scores, Y)]) * s["inv_n"]
    ps = s["params"]
    return data_loss + engine.dot(ps, ps) * 1e-4  # L2 as one fused node


def w1_backward(s, loss):
    loss.backward()


def w1_zero_grad(s):
    for p in s["params"]:
        p.grad = 0.0


def w1_result(s, loss):
    return loss.data, [p.grad for p in s["params"]]


# --- W2, W3 -------------------------------------------------------------------
def w2(n):
    x = Value(0.5)
    y = x
    for _ in range(n):
        y = (y * 1.0001).tanh()
    y.backward()
    return y.data, x.grad


def w2_leaf():  # for the W2 memory row
    return Value(0.5)


def w3_setup(a, b):
    return [Value(v) for v in a], [Value(v) for v in b]


def w3(s):
    """The naive form a user writes first: builtin sum over products (2N nodes, a chain of adds)."""
    a, b = s
    out = sum(x * y for x, y in zip(a, b))
    out.backward()
    return out.data, [x.grad for x in a], [y.grad for y in b]


def w3_dot(s):
    """The same with the fused n-ary node: ONE node."""
    a, b = s
    out = engine.dot(a, b)
    out.backward()
    return out.data, [x.grad for x in a], [y.grad for y in b]


def w3_fused(s):
    """The naive form inside engine.fused(): the same code, recorded as one fused dot node."""
    a, b = s
    with engine.fused():
        out = sum(x * y for x, y in zip(a, b))
    out.backward()
    return out.data, [x.grad for x in a], [y.grad for y in b]


extra_w3 = {"dot": w3_dot, "fused": w3_fused}


# --- W4 -----------------------------------------------------------------------
def w4(X, Y, weights, steps):
    """What `chainrule train --dataset moons` runs (its moons preset is micrograd's demo:
    hinge loss, SGD lr 1.0 with a linear decay to 0.1, l2 1e-4, full batch), minus the
    pictures and files: nn.train.fit on the shared data and initial weights."""
    try:
        from nn.optim import SGD
        from nn.train import fit
    except ImportError:  # nn without its trainer yet: micrograd's loop on nn's model
        return _w4_manual(X, Y, weights, steps)
    model, _ = _model(weights)
    hist = fit(model, X, Y, epochs=steps, optimizer=SGD(model.parameters(), lr=1.0), loss="hinge",
               schedule="linear", l2=1e-4, progress=False)
    return hist["loss"][-1], hist["accuracy"][-1]


def _w4_manual(X, Y, weights, steps):
    from workloads import accuracy, lr_at
    s = w1_setup(X, Y, weights)
    for k in range(steps):
        loss = w1_forward(s)
        w1_zero_grad(s)
        loss.backward()
        lr = lr_at(k, steps)
        for p in s["params"]:
            p.data -= lr * p.grad
    return loss.data, accuracy([sc.data for sc in s["scores"]], Y)


def count_nodes(root):
    return len(engine.topological_order(root))
