"""Adapter for micrograd 0.1.0 and its API-compatible forks (scalargrad).

Used exactly as micrograd's demo.ipynb uses it: inputs as Values, builtin
sum, its own MLP.  ``build(Value, MLP)`` returns the adapter functions for
one such engine; micrograd_engine.py / scalargrad_engine.py call it.
"""
from __future__ import annotations

from workloads import accuracy, lr_at


def _add_tanh(Value) -> None:
    """micrograd 0.1.0 has no tanh (only relu): add the one from Karpathy's
    micrograd lecture, in micrograd's own style (a closure _backward), so W2
    exercises micrograd's engine unchanged."""
    import math

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), 'tanh')

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out
    Value.tanh = tanh


def build(Value, MLP) -> dict:
    if not hasattr(Value, "tanh"):
        _add_tanh(Value)
    def _model(weights):
        m = MLP(len(weights[0][0][0]), [len(b) for _, b in weights])
        for layer, (W, b) in zip(m.layers, weights):  # load the shared initial weights
            for n, row, bj in zip(layer.neurons, W, b):
                for p, w in zip(n.w, row):
                    p.data = w
                n.b.data = bj
        return m

    # --- W1: the body of the demo's loss() ------------------------------------------
    def w1_setup(X, Y, weights):
        return {"model": _model(weights), "X": X, "Y": Y}

    def w1_forward(s):
        model = s["model"]
        inputs = [list(map(Value, xrow)) for xrow in s["X"]]
        s["scores"] = scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(s["Y"], scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
        return data_loss + reg_loss

    def w1_backward(s, loss):
        loss.backward()

    def w1_zero_grad(s):
        s["model"].zero_grad()

    def w1_result(s, loss):
        return loss.data, [p.grad for p in s["model"].parameters()]

    # --- W2, W3 -------------------------------------------------------------------
    def w2(n):
        x = Value(0.5)
        y = x
        for _ in range(n):
            y = (y * 1.0001).tanh()
        y.backward()  # recursive topological sort: RecursionError past ~1,000 deep
        return y.data, x.grad

    def w2_leaf():  # for the W2 memory row
        return Value(0.5)

    def w3_setup(a, b):
        return [Value(v) for v in a], [Value(v) for v in b]

    def w3(s):
        a, b = s
        out = sum(x * y for x, y in zip(a, b))
        out.backward()
        return out.data, [x.grad for x in a], [y.grad for y in b]

    # --- W4: the demo's optimisation loop, verbatim apart from the shared data/weights
    def w4(X, Y, weights, steps):
        s = w1_setup(X, Y, weights)
        model = s["model"]
        for k in range(steps):
            total_loss = w1_forward(s)
            model.zero_grad()
            total_loss.backward()
            learning_rate = lr_at(k, steps)
            for p in model.parameters():
                p.data -= learning_rate * p.grad
        return total_loss.data, accuracy([sc.data for sc in s["scores"]], Y)

    def count_nodes(root):
        """All Values reachable through _prev (leaves included), walked without recursion."""
        seen = {id(root)}
        stack = [root]
        while stack:
            for p in stack.pop()._prev:
                if id(p) not in seen:
                    seen.add(id(p))
                    stack.append(p)
        return len(seen)

    return {k: v for k, v in locals().items() if k not in ("Value", "MLP")}
