"""Layers: Neuron, Layer, MLP, Sequential, Activation, Dropout, BatchNorm, and ``from_config``.

The hot path is a neuron's pre-activation, computed as ONE fused node::

    engine.dot(w + [b], x + [1.0])      # sum_i w_i * x_i + b

instead of ``nin`` multiplies and ``nin`` adds (2 * nin nodes).  The
``w + [b]`` list is built once per neuron at construction time (Values are
updated in place by optimisers and ``load_state_dict``, never replaced), and
``x + [1.0]`` once per layer call, shared by all neurons of the layer.

>>> from nn import MLP
>>> model = MLP(2, [16, 16, 1], seed=0)
>>> score = model([0.5, -1.0])          # a Value (last layer has one output)
>>> len(model.parameters())
337
"""
from __future__ import annotations

import builtins
import math
import random
from operator import mul as _mul
from typing import Callable, List, Optional, Sequence, Union

from engine import Value, dot, is_anomaly_enabled, is_grad_enabled, linear, ops
from engine import sum as vsum

from .checks import as_rng, choice, integer, real, short
from .init import INITS, init_weights, resolve_init
from .module import Module, StateDictError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
_builtin_sum = builtins.sum


def _as_input(x, where: str) -> list:
    """One sample as a list (TypeError naming ``where`` for a number, None, ...)."""
    try:
        return list(x)
    except TypeError:
        raise TypeError(f"{where}: expected one sample as a list of numbers, got {type(x).__name__} {x!r}"[:200]
                        ) from None


def _batch_error(x, where: str, nin) -> Optional[TypeError]:
    """The TypeError to raise if ``x`` looks like a batch (a list of samples) where one sample was expected."""
    try:
        nested = any(isinstance(v, (list, tuple)) or (hasattr(v, "__len__") and not isinstance(v, (str, bytes)))
                     for v in x)
    except TypeError:
        return None
    if not nested:
        return None
    size = f"a flat list of {nin} numbers" if nin else "a flat list of numbers"
    return TypeError(f"{where}: expected one sample ({size}), got a nested list; for a batch use "
                     f"[model(x) for x in xs] or model.forward_batch(xs)")


# The float forward (predict/evaluate: ~2.3x faster than a no_grad graph,
# benchmarks/predict_no_grad.py) takes each activation from engine's op
# records, so it is the engine's own arithmetic, never a second copy.
_FLOAT_ACT = {name: ops.FORWARD[name] for name in ("relu", "tanh", "sigmoid")}
_FLOAT_ACT["linear"] = None


class Neuron(Module):
    """One unit: ``activation(w . x + b)``, the pre-activation as ONE fused dot node.

    >>> n = Neuron(2, activation="linear", seed=0)
    >>> n.w[0].data = 2.0; n.w[1].data = -1.0; n.b.data = 0.5
    >>> n([1.0, 3.0]).data
    -0.5
    """

    __slots__ = ("nin", "activation", "init", "w", "b", "_wb")

    def __init__(self, nin: int, activation: str = "relu", *, init: str = "auto",
                 seed: Union[int, random.Random, None] = 0, fan_out: int = 1) -> None:
        super().__init__()
        self.nin = integer(nin, "nin", "Neuron", minimum=1)
        self.activation = choice(activation, ACTIVATIONS, "activation", "Neuron")
        self.init = resolve_init(choice(init, INITS, "init", "Neuron"), activation)
        fan_out = integer(fan_out, "fan_out", "Neuron", minimum=1)
        rng = as_rng(seed, "Neuron")
        self.w = [Value(v) for v in init_weights(rng, self.init, self.nin, fan_out, self.nin)]
        self.b = Value(0.0)
        self._wb = self.w + [self.b]  # built once: the fused dot's weight operand
        for i, w in enumerate(self.w):  # as named_parameters() names them
            w.label = f"weight[{i}]"
        self.b.label = "bias"

    def __call__(self, x: Sequence) -> Value:
        xs = _as_input(x, "Neuron")
        if len(xs) != self.nin:
            raise ValueError(f"Neuron: expected an input of length {self.nin}, got {len(xs)}")
        xs.append(1.0)  # the bias input
        y = dot(self._wb, xs)
        act = self.activation
        if act == "relu":
            return y.relu()
        if act == "tanh":
            return y.tanh()
        if act == "sigmoid":
            return y.sigmoid()
        return y

    def _tensors(self) -> list:
        return [("weight", self.w, True), ("bias", self.b, True)]

    def config(self) -> dict:
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation, "init": self.init}

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.activation}"


class Layer(Module):
    """``nout`` neurons on the same input; returns a list of ``nout`` Values.

    >>> layer = Layer(3, 2, seed=0)
    >>> len(layer([1.0, 2.0, 3.0])), len(layer.parameters())
    (2, 8)
    """

    __slots__ = ("nin", "nout", "activation", "init", "neurons", "_wbs")

    def __init__(self, nin: int, nout: int, activation: str = "relu", *, init: str = "auto",
                 seed: Union[int, random.Random, None] = 0) -> None:
        super().__init__()
        self.nin = integer(nin, "nin", "Layer", minimum=1)
        self.nout = integer(nout, "nout", "Layer", minimum=1)
        self.activation = choice(activation, ACTIVATIONS, "activation", "Layer")
        self.init = resolve_init(choice(init, INITS, "init", "Layer"), activation)
        rng = as_rng(seed, "Layer")
        self.neurons = [Neuron(self.nin, activation, init=self.init, seed=rng, fan_out=self.nout)
                        for _ in range(self.nout)]
        self._wbs = [n._wb for n in self.neurons]
        for j, n in enumerate(self.neurons):  # as named_parameters() names them
            for i, w in enumerate(n.w):
                w.label = f"weight[{j}][{i}]"
            n.b.label = f"bias[{j}]"

    def __call__(self, x: Sequence) -> List[Value]:
        xs = _as_input(x, "Layer")
        if len(xs) != self.nin:
            err = _batch_error(xs, "Layer", self.nin)
            if err is not None:
                raise err
            raise ValueError(f"Layer: expected an input of length {self.nin}, got {len(xs)} "
                             f"(check the model's nin or the sample)")
        xs.append(1.0)  # shared bias input for all neurons of this layer
        return self._outputs([xs], lambda s: "Layer")[0]

    def forward_batch(self, xs: Sequence) -> list:
        """Outputs for a list of samples: the same nodes as one call per sample, built faster
        (each weight row is read once for the whole batch; see ``engine.linear``)."""
        batch = []
        for s, x in enumerate(_as_input(xs, "Layer.forward_batch")):
            # a list is copied as is; anything else is checked, its message made only then
            x = x[:] if type(x) is list else _as_input(x, f"Layer.forward_batch: sample {s}")
            if len(x) != self.nin:
                raise ValueError(f"Layer.forward_batch: sample {s} has length {len(x)}, expected {self.nin} "
                                 f"(check the model's nin or the sample)")
            x.append(1.0)
            batch.append(x)
        return self._outputs(batch, lambda s: f"Layer.forward_batch: sample {s}")

    def _outputs(self, batch: list, where: Callable[[int], str]) -> list:
        """Activations for samples already checked and extended with the bias input 1.0:
        one fused dot node per neuron and sample (rows are w + [b]), then the activation."""
        act = self.activation
        try:  # the activation inside linear: under no_grad one leaf per output (benchmarks/no_grad_speed.py)
            return linear(batch, self._wbs, activation=None if act == "linear" else act)
        except TypeError:
            for s, x in enumerate(batch):  # a batch passed as one sample: say so
                err = _batch_error(x[:-1], where(s), self.nin)
                if err is not None:
                    raise err from None
            raise

    def _tensors(self) -> list:
        return [("weight", [n.w for n in self.neurons], True), ("bias", [n.b for n in self.neurons], True)]

    def _float_fn(self):
        rows = [[p.data for p in wb] for wb in self._wbs]
        act = self.activation
        fn = _FLOAT_ACT[act]

        def f(x: list) -> list:
            # inputs were checked by Module.predict; sum(map(mul)) is engine.dot's own arithmetic
            # (CPython 3.12+ compensates float sums, so a hand-written loop would differ in the last bits)
            xs = [*x, 1.0]
            ys = [_builtin_sum(map(_mul, row, xs)) for row in rows]
            return ys if fn is None else list(map(fn, ys))
        return f

    def config(self) -> dict:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout, "activation": self.activation,
                "init": self.init}

    def extra_repr(self) -> str:
        return f"{self.nin} -> {self.nout}, {self.activation}"


class Activation(Module):
    """An elementwise activation as its own module (used after BatchNorm)."""

    __slots__ = ("activation",)

    def __init__(self, activation: str = "relu") -> None:
        super().__init__()
        self.activation = choice(activation, ACTIVATIONS, "activation", "Activation")

    def __call__(self, x: Sequence) -> list:
        act = self.activation
        if act == "linear":
            return list(x)
        return [getattr(v, act)() if isinstance(v, Value) else getattr(Value(v), act)() for v in x]

    def config(self) -> dict:
        return {"type": "Activation", "activation": self.activation}

    def _float_fn(self):
        act = _FLOAT_ACT[self.activation]
        if act is None:
            return lambda x: list(_as_input(x, "Activation"))
        return lambda x: [act(v) for v in _as_input(x, "Activation")]

    def extra_repr(self) -> str:
        return self.activation


class Dropout(Module):
    """Zero each input with probability ``p`` in training mode, scaling the rest by 1/(1-p).

    The identity in eval mode.  Draws from its own ``random.Random(seed)``.

    >>> d = Dropout(0.5, seed=0).eval()
    >>> [v.data for v in d([Value(1.0), Value(2.0)])]
    [1.0, 2.0]
    """

    __slots__ = ("p", "seed", "_rng")

    def __init__(self, p: float = 0.5, *, seed: Optional[int] = 0) -> None:
        super().__init__()
        self.p = real(p, "p", "Dropout", minimum=0.0, maximum=1.0)  # numpy floats too
        self._rng = as_rng(seed, "Dropout")
        self.seed = None if seed is None or isinstance(seed, random.Random) else int(seed)

    def __call__(self, x: Sequence) -> list:
        if not self.training or self.p == 0.0:
            return list(x)
        p = self.p
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
        r = self._rng.random
        return [v * (scale if r() >= p else 0.0) for v in x]

    def config(self) -> dict:
        return {"type": "Dropout", "p": self.p, "seed": self.seed}

    def _float_fn(self):
        return None if self.training else (lambda x: _as_input(x, "Dropout"))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm(Module):
    """Batch normalisation over a mini-batch, per feature (PyTorch's ``BatchNorm1d``).

    Training mode (``forward_batch``): normalise with the batch mean and
    (biased) variance, and update ``running_mean``/``running_var`` (unbiased)
    with ``momentum``.  Eval mode: normalise with the running statistics, so
    single samples work.  Learnable ``weight`` (gamma, init 1) and ``bias``
    (beta, init 0).

    >>> bn = BatchNorm(1)
    >>> out = bn.forward_batch([[Value(1.0)], [Value(3.0)]])
    >>> [round(o[0].data, 3) for o in out]
    [-1.0, 1.0]
    """

    __slots__ = ("num_features", "eps", "momentum", "weight", "bias", "running_mean", "running_var")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features = integer(num_features, "num_features", "BatchNorm", minimum=1)
        self.eps = real(eps, "eps", "BatchNorm", minimum=0.0, low_open=True)
        self.momentum = real(momentum, "momentum", "BatchNorm", minimum=0.0, maximum=1.0)
        n = self.num_features
        self.weight = [Value(1.0) for _ in range(n)]
        self.bias = [Value(0.0) for _ in range(n)]
        self.running_mean = [0.0] * n
        self.running_var = [1.0] * n
        self._label_parameters()

    def _check(self, x) -> list:
        xs = list(x)
        if len(xs) != self.num_features:
            raise ValueError(f"BatchNorm: expected {self.num_features} features, got {len(xs)}")
        return xs

    def __call__(self, x: Sequence) -> list:
        if self.training:
            raise ValueError("BatchNorm: a single sample cannot be normalised in training mode; "
                             "call model.forward_batch(samples) with 2+ samples, or model.eval() first")
        xs = self._check(x)
        out = []
        for j, v in enumerate(xs):
            inv = 1.0 / math.sqrt(self.running_var[j] + self.eps)
            out.append((v - self.running_mean[j]) * inv * self.weight[j] + self.bias[j])
        return out

    def forward_batch(self, xs: Sequence) -> list:
        if not self.training:
            return [self(x) for x in xs]
        rows = [self._check(x) for x in xs]
        n = len(rows)
        if n < 2:
            raise ValueError(f"BatchNorm: training mode needs a batch of 2+ samples, got {n}; "
                             f"use a larger batch_size or model.eval()")
        out = [[None] * self.num_features for _ in range(n)]
        m = self.momentum
        for j in range(self.num_features):
            col = [r[j] for r in rows]
            mean = vsum(col) * (1.0 / n)
            diffs = [c - mean for c in col]
            var = dot(diffs, diffs) * (1.0 / n)  # one fused node for the sum of squares
            scale = (var + self.eps) ** -0.5 * self.weight[j]
            beta = self.bias[j]
            for i, d in enumerate(diffs):
                out[i][j] = d * scale + beta
            self.running_mean[j] = (1 - m) * self.running_mean[j] + m * mean.data
            self.running_var[j] = (1 - m) * self.running_var[j] + m * var.data * n / (n - 1)
        return out

    def _tensors(self) -> list:
        return [("weight", self.weight, True), ("bias", self.bias, True),
                ("running_mean", self.running_mean, False), ("running_var", self.running_var, False)]

    def _check_state(self, values: dict, prefix: str) -> None:
        # A variance below 0 makes sqrt(var + eps) a math domain error (or a division by 0) at predict time.
        for j, v in enumerate(values.get("running_var", [])):
            if v < 0:
                raise StateDictError(f"load_state_dict: '{prefix}running_var'[{j}] = {v!r} is negative; "
                                     f"a variance is >= 0 (the weights are damaged)")

    def config(self) -> dict:
        return {"type": "BatchNorm", "num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}

    def _float_fn(self):
        if self.training:
            return None
        stats = [(self.running_mean[j], 1.0 / math.sqrt(self.running_var[j] + self.eps), self.weight[j].data,
                  self.bias[j].data) for j in range(self.num_features)]
        n = self.num_features

        def f(x: list) -> list:
            x = _as_input(x, "BatchNorm")
            if len(x) != n:
                raise ValueError(f"BatchNorm: expected {n} features, got {len(x)}")
            return [(v - m) * inv * g + b for v, (m, inv, g, b) in zip(x, stats)]
        return f

    def extra_repr(self) -> str:
        return f"{self.num_features}"


class Sequential(Module):
    """Modules applied in order.  A one-element output list is returned as its Value.

    >>> model = Sequential(Layer(2, 4, seed=0), BatchNorm(4), Dropout(0.1), Layer(4, 1, "linear", seed=1))
    >>> model.eval()([0.5, -1.0]).op
    'dot'
    """

    __slots__ = ("modules",)

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(m).__name__}")
        self.modules = list(modules)
        self._label_parameters()

    def children(self) -> List[Module]:
        return self.modules

    def __getitem__(self, i: int) -> Module:
        return self.modules[i]

    def __len__(self) -> int:
        return len(self.modules)

    def __call__(self, x: Sequence):
        x0 = x
        try:
            for m in self.modules:
                x = m(x)
        except TypeError:
            nin = getattr(self.modules[0], "nin", None) if self.modules else None
            err = _batch_error(x0, type(self).__name__, nin)
            if err is not None:
                raise err from None
            raise
        return x[0] if isinstance(x, list) and len(x) == 1 else x

    def forward_batch(self, xs: Sequence) -> list:
        """Outputs for a list of samples; under ``no_grad`` each output is a leaf Value.

        Under ``no_grad`` (without ``detect_anomaly``), a model whose modules
        all have a float forward (eval-mode BatchNorm and Dropout included)
        runs in plain floats, the same arithmetic as ``predict``, and wraps
        only its outputs: no Values between layers (``benchmarks/no_grad_speed.py``).
        """
        hs = list(xs)
        if not is_grad_enabled() and not is_anomaly_enabled():
            out = self._float_batch(hs)
            if out is not None:
                return out
        for m in self.modules:
            hs = m.forward_batch(hs)
        return [h[0] if isinstance(h, list) and len(h) == 1 else h for h in hs]

    def _float_batch(self, hs: list) -> Optional[list]:
        """``forward_batch``'s outputs as leaf Values computed in floats, or None where
        the graph path must run (a module without a float forward, or samples that are
        not lists of floats/Values of the right width: that path names what is wrong)."""
        fn = self._float_fn()
        nin = getattr(self.modules[0], "nin", None) if self.modules else None
        if fn is None or nin is None:
            return None
        floats = []
        for x in hs:
            if type(x) is not list and type(x) is not tuple or len(x) != nin:
                return None
            row = [v.data if type(v) is Value else v for v in x]
            if not all(type(v) is float for v in row):
                return None  # ints, bools, foreign objects: the graph path converts or names them
            floats.append(row)
        return [[Value(y) for y in r] if isinstance(r, list) else Value(r) for r in map(fn, floats)]

    def config(self) -> dict:
        return {"type": "Sequential", "modules": [m.config() for m in self.modules]}

    def _float_fn(self):
        # Only a flat chain whose widths line up; a nested Sequential (its width-1
        # output is unwrapped) or a mis-wired layer (map() would stop at the shorter
        # list) runs the graph path, which handles it or names what is wrong.
        width = None
        for m in self.modules:
            if isinstance(m, Layer):
                if width is not None and m.nin != width:
                    return None
                width = m.nout
            elif isinstance(m, BatchNorm):
                if width is not None and m.num_features != width:
                    return None
                width = m.num_features
            elif not isinstance(m, (Activation, Dropout)):
                return None
        fns = [m._float_fn() for m in self.modules]
        if any(f is None for f in fns):
            return None

        def f(x: list):
            for g in fns:
                x = g(x)
            return x[0] if len(x) == 1 else x
        return f


class MLP(Sequential):
    """A multi-layer perceptron: ``activation`` on hidden layers, linear output.

    ``nouts`` lists the layer widths, the last one being the number of
    outputs; ``model(x)`` returns a Value when it is 1, else a list.
    Optional ``batchnorm`` (before each hidden activation) and ``dropout``
    (after it).  Same ``seed`` -> same weights.

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model
    MLP(2 -> [16, 16, 1], activation=relu, params=337)
      (0): Layer(2 -> 16, relu)
      (1): Layer(16 -> 16, relu)
      (2): Layer(16 -> 1, linear)
    """

    __slots__ = ("nin", "nouts", "activation", "init", "dropout", "batchnorm", "seed")

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu", *, seed: Optional[int] = 0,
                 init: str = "auto", dropout: float = 0.0, batchnorm: bool = False) -> None:
        nin = integer(nin, "nin", "MLP", minimum=1)
        if isinstance(nouts, int) and type(nouts) is not bool:
            raise TypeError(f"MLP: nouts must be a list of layer widths, e.g. [16, 16, 1], got the int {nouts}; "
                            f"write [{nouts}] for a single layer")
        try:
            nouts = list(nouts)
        except TypeError:
            raise TypeError(f"MLP: nouts must be a list of layer widths, e.g. [16, 16, 1], "
                            f"got {type(nouts).__name__}") from None
        if not nouts:
            raise ValueError("MLP: nouts must list at least one layer width, e.g. [16, 16, 1]")
        nouts = [integer(n, f"nouts[{i}]", "MLP", minimum=1) for i, n in enumerate(nouts)]
        choice(activation, ACTIVATIONS, "activation", "MLP")
        choice(init, INITS, "init", "MLP")
        dropout = real(dropout, "dropout", "MLP", minimum=0.0, maximum=1.0)
        if type(batchnorm) is not bool:
            raise TypeError(f"MLP: batchnorm must be True or False, got {batchnorm!r}")
        rng = as_rng(seed, "MLP")
        modules: list = []
        sizes = [nin] + nouts
        for i in range(len(nouts)):
            last = i == len(nouts) - 1
            if last:
                modules.append(Layer(sizes[i], sizes[i + 1], "linear", init=init, seed=rng))
            elif batchnorm:
                # BN needs the pre-activation, so the activation becomes its own module
                modules.append(Layer(sizes[i], sizes[i + 1], "linear", init=resolve_init(init, activation), seed=rng))
                modules.append(BatchNorm(sizes[i + 1]))
                modules.append(Activation(activation))
            else:
                modules.append(Layer(sizes[i], sizes[i + 1], activation, init=init, seed=rng))
            if dropout and not last:
                modules.append(Dropout(dropout, seed=rng.randrange(2 ** 31)))
        super().__init__(*modules)
        self.nin = nin
        self.nouts = nouts
        self.activation = activation
        self.init = init
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.seed = None if seed is None or isinstance(seed, random.Random) else int(seed)

    def config(self) -> dict:
        return {"type": "MLP", "nin": self.nin, "nouts": list(self.nouts), "activation": self.activation,
                "init": self.init, "dropout": self.dropout, "batchnorm": self.batchnorm, "seed": self.seed}

    def extra_repr(self) -> str:
        extra = ""
        if self.init != "auto":
            extra += f", init={self.init}"
        if self.dropout:
            extra += f", dropout={self.dropout}"
        if self.batchnorm:
            extra += ", batchnorm=True"
        return f"{self.nin} -> {self.nouts}, activation={self.activation}{extra}"


# type name in a saved architecture -> class; nn.tabular adds TabularModel.  A class with a
# ``build_from_config(args)`` classmethod builds itself (it has sub-modules to build first).
MODULE_TYPES = {"Neuron": Neuron, "Layer": Layer, "Activation": Activation, "Dropout": Dropout,
                "BatchNorm": BatchNorm, "Sequential": Sequential, "MLP": MLP}


def from_config(config: dict) -> Module:
    """Build a fresh module from ``Module.config()`` output (weights are re-initialised).

    Raises ValueError naming the bad field for configs that do not describe a module.

    >>> from_config(MLP(2, [3, 1], seed=0).config())
    MLP(2 -> [3, 1], activation=relu, params=13)
      (0): Layer(2 -> 3, relu)
      (1): Layer(3 -> 1, linear)
    """
    if not isinstance(config, dict):
        raise ValueError(f"from_config: architecture must be a JSON object, got {type(config).__name__}")
    kind = config.get("type")
    if not isinstance(kind, str) or kind not in MODULE_TYPES:
        raise ValueError(f"from_config: unknown module type {short(kind)}; known: {', '.join(MODULE_TYPES)}")
    cls = MODULE_TYPES[kind]
    args = {k: v for k, v in config.items() if k != "type"}
    try:
        if kind == "Sequential":
            subs = args.get("modules")
            if not isinstance(subs, list):
                raise ValueError("from_config: Sequential needs a 'modules' list")
            return Sequential(*[from_config(c) for c in subs])
        if kind == "MLP":
            nin, nouts = args.pop("nin", None), args.pop("nouts", None)
            if nin is None or nouts is None:
                raise ValueError("from_config: MLP needs 'nin' and 'nouts'")
            return MLP(nin, nouts, **args)
        if hasattr(cls, "build_from_config"):
            return cls.build_from_config(args)
        return cls(**args)
    except TypeError as e:
        raise ValueError(f"from_config: bad {kind} architecture {short(config, 200)}: {e}") from None
