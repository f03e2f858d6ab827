"""micrograd-compatible ``Module``, ``Neuron``, ``Layer`` and ``MLP``.

    import nn.micrograd as nn                # was: from micrograd import nn
    from nn.micrograd import MLP             # was: from micrograd.nn import MLP

Same constructors, attributes and behaviour as micrograd's ``nn``:
``Neuron(nin, nonlin=True)`` with ``.w`` (weights drawn with
``random.uniform(-1, 1)``, in order, so ``random.seed(1337)`` gives
micrograd's own starting weights), ``.b`` (0) and ``.nonlin``;
``Layer(nin, nout, **kwargs)`` with ``.neurons``; ``MLP(nin, nouts)`` with
``.layers`` (ReLU everywhere but the last layer); a layer or model with one
output returns a Value, else a list; ``parameters()``, ``zero_grad()``.
Values are ``engine.micrograd.Value``.  The difference is speed: a neuron is
one fused ``engine.dot`` node (micrograd builds 2n of them), and backward
runs the engine's loop, not a closure per node.

>>> import random
>>> import nn.micrograd as nn
>>> random.seed(1337)
>>> model = nn.MLP(2, [16, 16, 1])
>>> model
MLP of [Layer of [ReLUNeuron(2), ...], Layer of [ReLUNeuron(16), ...], Layer of [LinearNeuron(16)]]
>>> score = model([2.0, -1.0]); score.backward()
>>> len(model.parameters()), type(score).__name__, len(model.layers), len(model.layers[0].neurons)
(337, 'Value', 3, 16)
"""
from __future__ import annotations

import random
from typing import List, Sequence, Union

from engine.micrograd import Value, dot

__all__ = ["Module", "Neuron", "Layer", "MLP"]


class Module:
    """Base class: ``parameters()`` (none here) and ``zero_grad()``."""

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0."""
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> List[Value]:
        """The Values this module learns (a list)."""
        return []


def _check_count(where: str, name: str, n) -> int:
    if type(n) is not int or n < 1:
        raise ValueError(f"{where}: {name} must be an int >= 1, got {n!r}")
    return n


class Neuron(Module):
    """``act(w . x + b)``: ReLU when ``nonlin`` (the default), else linear.

    >>> n = Neuron(3, nonlin=False); n
    LinearNeuron(3)
    """

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        _check_count("Neuron(nin, ...)", "nin", nin)
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Union[Value, float]]) -> Value:
        try:
            xs = list(x)
        except TypeError:
            raise TypeError(f"Neuron: expected a list of {len(self.w)} inputs, got {type(x).__name__} {x!r}"[:300]) \
                from None
        if len(xs) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(xs)}; give one number or Value per "
                             f"input (Neuron({len(self.w)}))")
        act = dot(self.w + [self.b], xs + [1.0])  # w . x + b as one fused node (micrograd builds 2n)
        return act.relu() if self.nonlin else act

    def parameters(self) -> List[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons over the same inputs; one output comes back as a Value, more as a list.

    >>> Layer(2, 1, nonlin=False)([1.0, 2.0]).__class__.__name__
    'Value'
    """

    def __init__(self, nin: int, nout: int, **kwargs) -> None:
        _check_count("Layer(nin, nout)", "nout", nout)
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> List[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``[nin] + nouts``; ReLU in every layer but the last.

    >>> MLP(3, [4, 4, 1]).layers[-1]
    Layer of [LinearNeuron(4)]
    """

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        _check_count("MLP(nin, nouts)", "nin", nin)
        try:
            nouts = list(nouts)
        except TypeError:
            raise TypeError(f"MLP(nin, nouts): nouts must be a list of layer sizes such as [16, 16, 1], "
                            f"got {type(nouts).__name__} {nouts!r}"[:300]) from None
        if not nouts:
            raise ValueError("MLP(nin, nouts): nouts is empty; give the layer sizes, e.g. [16, 16, 1]")
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> List[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
