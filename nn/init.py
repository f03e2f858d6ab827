"""Weight initialisation schemes, all drawn from an explicit ``random.Random``.

* ``"kaiming_uniform"`` (He): U(-b, b), b = sqrt(6 / fan_in) — default for relu;
* ``"kaiming_normal"``: N(0, 2 / fan_in);
* ``"xavier_uniform"`` (Glorot): U(-b, b), b = sqrt(6 / (fan_in + fan_out)) —
  default for tanh, sigmoid and linear layers;
* ``"xavier_normal"``: N(0, 2 / (fan_in + fan_out));
* ``"uniform"``: U(-1, 1), micrograd's choice.

Biases start at 0.  ``init="auto"`` (the default of every layer) picks per
layer from its activation, as above.

>>> import random
>>> w = init_weights(random.Random(0), "kaiming_uniform", fan_in=2, fan_out=1, n=2)
>>> all(abs(v) <= 3 ** 0.5 for v in w)
True
"""
from __future__ import annotations

import math
import random
from typing import List

INITS = ("auto", "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal", "uniform")


def resolve_init(init: str, activation: str) -> str:
    """The concrete scheme ``init="auto"`` means for ``activation``.

    >>> resolve_init("auto", "relu"), resolve_init("auto", "tanh")
    ('kaiming_uniform', 'xavier_uniform')
    """
    if init != "auto":
        return init
    return "kaiming_uniform" if activation == "relu" else "xavier_uniform"


def init_weights(rng: random.Random, scheme: str, fan_in: int, fan_out: int, n: int) -> List[float]:
    """``n`` initial weights for one neuron under ``scheme`` (see the module docstring).

    >>> init_weights(random.Random(0), "uniform", 3, 1, 2) == init_weights(random.Random(0), "uniform", 3, 1, 2)
    True
    """
    if scheme == "kaiming_uniform":
        b = math.sqrt(6.0 / fan_in)
        return [rng.uniform(-b, b) for _ in range(n)]
    if scheme == "kaiming_normal":
        s = math.sqrt(2.0 / fan_in)
        return [rng.gauss(0.0, s) for _ in range(n)]
    if scheme == "xavier_uniform":
        b = math.sqrt(6.0 / (fan_in + fan_out))
        return [rng.uniform(-b, b) for _ in range(n)]
    if scheme == "xavier_normal":
        s = math.sqrt(2.0 / (fan_in + fan_out))
        return [rng.gauss(0.0, s) for _ in range(n)]
    if scheme == "uniform":
        return [rng.uniform(-1.0, 1.0) for _ in range(n)]
    raise ValueError(f"init_weights: unknown scheme {scheme!r}; choose one of {', '.join(INITS[1:])}")
