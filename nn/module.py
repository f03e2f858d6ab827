"""Modules: Neuron, Layer, MLP, Sequential, Activation, Dropout, BatchNorm.

Every module is built on ``engine``'s public names only.  The hot path is a
neuron's pre-activation, computed as ONE fused node::

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

Weight initialisation (``init=``), all from an explicit ``random.Random(seed)``:

* ``"kaiming_uniform"`` (He): U(-b, b), b = sqrt(6 / fan_in) — default for relu;
* ``"kaiming_normal"``: N(0, 2 / fan_in);
* ``"xavier_uniform"`` (Glorot): U(-b, b), b = sqrt(6 / (fan_in + fan_out)) —
  default for tanh, sigmoid and linear layers;
* ``"xavier_normal"``: N(0, 2 / (fan_in + fan_out));
* ``"uniform"``: U(-1, 1), micrograd's choice.

Biases start at 0.  ``init="auto"`` (the default) picks per layer from its
activation, as above.

Writing your own module, PyTorch style: subclass ``Module``, call
``super().__init__()`` first, assign sub-modules (or lists/tuples of them)
and parameter Values (or nested lists of them) as attributes, and define
``forward(x)`` for one sample.  ``parameters()``, ``state_dict()``,
``train()``/``eval()`` and ``fit`` find them in assignment order; a
module's own Values come before its sub-modules' (as in PyTorch)::

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.l1 = Layer(2, 8, seed=0)
            self.l2 = Layer(8, 1, "linear", seed=1)
            self.scale = Value(1.0)

        def forward(self, x):
            return self.l2(self.l1(x))[0] * self.scale

    Net().state_dict().keys()  # scale, l1.weight, l1.bias, l2.weight, l2.bias

A list ``self.blocks = [Layer(...), ...]`` gives keys ``blocks.0.weight``, ...
Plain numbers, strings and lists of floats are not state (override
``_tensors()`` to add buffers).  The built-in modules list their tensors in
``_tensors()`` and sub-modules in ``children()`` instead, so their keys are
``0.weight``, ``0.bias``, ... as before.

Parameter names and labels: ``named_parameters()`` gives ``(name, Value)``
pairs in ``parameters()`` order, one per scalar parameter, named after its
``state_dict`` key and index: ``"0.weight[3][1]"`` is weight 1 of neuron 3
of layer 0, ``"0.bias[3]"`` its bias (a lone ``Neuron`` has ``"weight[1]"``
and ``"bias"``).  Every parameter's ``.label`` is set to that name when the
module is built (and again when it is assigned into a larger module), so
``engine.draw_dot`` pictures show which weight is which.
"""
from __future__ import annotations

import math
import numbers
import random
from typing import Callable, Iterator, List, Optional, Sequence, Union

from engine import Value, dot, linear, no_grad
from engine import sum as vsum

Number = Union[int, float]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("auto", "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal", "uniform")


class StateDictError(ValueError):
    """``load_state_dict`` was given weights that do not fit the model (nothing was changed)."""


# ---------------------------------------------------------------------------
# helpers

def _check_int(name: str, value, where: str, minimum: int = 1) -> int:
    if type(value) is bool or not isinstance(value, int):
        raise TypeError(f"{where}: {name} must be an int >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value}")
    return value


def _check_activation(activation, where: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    return activation


def _check_init(init, where: str) -> str:
    if init not in INITS:
        raise ValueError(f"{where}: unknown init {init!r}; choose one of {', '.join(INITS)}")
    return init


def _as_rng(seed, where: str) -> random.Random:
    """``seed`` may be an int, None (fresh entropy) or a ``random.Random`` to draw from."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None or (isinstance(seed, int) and type(seed) is not bool):
        return random.Random(seed)
    raise TypeError(f"{where}: seed must be an int, None or a random.Random, got {type(seed).__name__} {seed!r}")


def resolve_init(init: str, activation: str) -> str:
    """The concrete scheme ``init="auto"`` means for ``activation``.

    >>> resolve_init("auto", "relu"), resolve_init("auto", "tanh")
    ('kaiming_uniform', 'xavier_uniform')
    """
    if init != "auto":
        return init
    return "kaiming_uniform" if activation == "relu" else "xavier_uniform"


def init_weights(rng: random.Random, scheme: str, fan_in: int, fan_out: int, n: int) -> List[float]:
    """``n`` initial weights for one neuron under ``scheme`` (see module docstring)."""
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


def _shape(obj) -> tuple:
    """Shape of a nested list of Values/numbers (rectangular by construction)."""
    shape = []
    while isinstance(obj, list):
        shape.append(len(obj))
        if not obj:
            break
        obj = obj[0]
    return tuple(shape)


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


def _flat(obj) -> list:
    if isinstance(obj, list):
        out = []
        for o in obj:
            out.extend(_flat(o))
        return out
    return [obj]


def _to_data(obj):
    if isinstance(obj, list):
        return [_to_data(o) for o in obj]
    return obj.data if isinstance(obj, Value) else float(obj)


def _check_numbers(obj, shape: tuple, key: str, path: str = "", allow_nonfinite: bool = False) -> None:
    """Raise StateDictError unless ``obj`` is a nested list of (finite) numbers of ``shape``."""
    if not shape:
        if type(obj) is bool or not isinstance(obj, (int, float)):
            raise StateDictError(
                f"load_state_dict: {key}{path} must be a number, got {type(obj).__name__} {obj!r}"[:300])
        try:
            x = float(obj)
        except OverflowError:
            raise StateDictError(f"load_state_dict: {key}{path} is an int too large for a float") from None
        if not allow_nonfinite and not math.isfinite(x):
            raise StateDictError(f"load_state_dict: {key}{path} must be finite, got {obj!r} "
                                 f"(pass allow_nonfinite=True to load nan/inf weights anyway)")
        return
    if not isinstance(obj, list) or len(obj) != shape[0]:
        got = f"a list of length {len(obj)}" if isinstance(obj, list) else f"{type(obj).__name__} {obj!r}"[:80]
        raise StateDictError(
            f"load_state_dict: {key}{path} has the wrong shape: expected a list of length {shape[0]} "
            f"(full shape {shape}), got {got}")
    for i, o in enumerate(obj):
        _check_numbers(o, shape[1:], key, f"{path}[{i}]", allow_nonfinite)


def _iter_leaves(obj):
    """The non-list items of nested lists/tuples, lazily (so ``all()`` stops at the first misfit)."""
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _iter_leaves(o)
    else:
        yield obj


def _as_lists(obj):
    """Nested tuples/lists of Values as nested lists (the same Value objects)."""
    if isinstance(obj, (list, tuple)):
        return [_as_lists(o) for o in obj]
    return obj


def _is_param(v) -> bool:
    return isinstance(v, Value) and v.op == ""  # a computed result (op != "") is not a parameter


def _attr_state(name: str, value):
    """What one attribute of a user module holds: ``(tensor or None, [(child name, module), ...])``.

    Sub-modules: a Module, or a non-empty list/tuple of Modules (named ``name.0``, ``name.1``, ...).
    Parameters: a leaf Value, or non-empty nested lists/tuples of leaf Values.
    """
    if isinstance(value, Module):
        return None, [(name, value)]
    if isinstance(value, Value):
        return ((name, value, True), []) if _is_param(value) else (None, [])
    if isinstance(value, (list, tuple)) and value:
        if all(isinstance(m, Module) for m in value):
            return None, [(f"{name}.{i}", m) for i, m in enumerate(value)]
        if all(_is_param(v) for v in _iter_leaves(value)) and _shape(_as_lists(value)):
            return (name, _as_lists(value), True), []
    return None, []


def _named_leaves(t, name: str) -> list:
    """``(name[i][j], Value)`` for every Value in the nested list ``t`` (``name`` itself for a bare Value)."""
    if not isinstance(t, list):
        return [(name, t)]
    out = []
    for i, o in enumerate(t):
        if isinstance(o, list):
            out.extend(_named_leaves(o, f"{name}[{i}]"))
        else:
            out.append((f"{name}[{i}]", o))
    return out


def _float_sigmoid(x: float) -> float:
    # the two-branch form engine's sigmoid uses: exp never overflows
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


_FLOAT_ACT = {
    "relu": lambda x: x if x > 0.0 else 0.0,
    "tanh": math.tanh,
    "sigmoid": _float_sigmoid,
    "linear": lambda x: x,
}


# ---------------------------------------------------------------------------

class Module:
    """Base class: parameters, gradients, train/eval mode and state dicts.

    Subclasses implement ``forward(x)`` (or ``__call__``) for one sample
    and, if it differs, ``forward_batch`` (a list of samples; BatchNorm
    needs the whole batch).  Sub-modules and parameter Values assigned as
    attributes after ``super().__init__()`` are found automatically (see
    the module docstring); alternatively list own tensors in ``_tensors()``
    and sub-modules in ``children()`` (then named ``0``, ``1``, ...).

    >>> from nn import MLP
    >>> m = MLP(2, [3, 1], seed=0)
    >>> sorted(m.state_dict())
    ['0.bias', '0.weight', '1.bias', '1.weight']
    """

    __slots__ = ("training",)

    def __init__(self) -> None:
        self.training = True

    def __setattr__(self, name: str, value) -> None:
        if not type(self).__dictoffset__:  # the built-in modules (slots only) list their state themselves
            object.__setattr__(self, name, value)
            return
        tensor, kids = _attr_state(name, value)
        if tensor is not None or kids:
            try:
                object.__getattribute__(self, "training")
            except AttributeError:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} to self.{name} "
                                f"before Module.__init__(); call super().__init__() first in "
                                f"{type(self).__name__}.__init__") from None
        object.__setattr__(self, name, value)
        if tensor is not None or kids:
            self._label_parameters()

    def _label_parameters(self) -> None:
        """Set every parameter's ``.label`` to its name in ``named_parameters()``."""
        for name, p in self.named_parameters():
            p.label = name

    # -- structure (override) -------------------------------------------------
    def _discovered(self):
        """``(tensors, named children)`` from this module's attributes, in assignment order."""
        attrs = getattr(self, "__dict__", None)  # modules with __slots__ only have none
        tensors, kids = [], []
        if attrs:
            for name, value in list(attrs.items()):
                t, k = _attr_state(name, value)
                if t is not None:
                    tensors.append(t)
                kids.extend(k)
        return tensors, kids

    def named_children(self) -> List[tuple]:
        """Direct sub-modules as ``(name, module)`` pairs, in order.

        From ``children()`` (named ``"0"``, ``"1"``, ...) when a subclass
        overrides it, else from the attributes (``"l1"``, ``"blocks.0"``, ...).
        """
        if type(self).children is not Module.children:
            return [(str(i), m) for i, m in enumerate(self.children())]
        return self._discovered()[1]

    def children(self) -> List["Module"]:
        """Direct sub-modules, in order."""
        return [m for _, m in self.named_children()]

    def _tensors(self) -> list:
        """This module's own ``(name, nested list of Values or floats, is_parameter)``.

        Default: the parameter Values assigned as attributes.
        """
        return self._discovered()[0]

    def config(self) -> dict:
        """A JSON-able description of the architecture (used by ``nn.io``)."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its architecture; "
                                  f"override config() to save it with nn.io")

    # -- forward ----------------------------------------------------------------
    def __call__(self, x):
        forward = getattr(type(self), "forward", None)
        if forward is None:
            raise NotImplementedError(f"{type(self).__name__} must implement forward(x) (or __call__) "
                                      f"for one sample")
        return forward(self, x)

    def forward_batch(self, xs: Sequence) -> list:
        """Outputs for a list of samples (default: one call per sample)."""
        return [self(x) for x in xs]

    def predict(self, xs: Sequence) -> list:
        """Plain-float outputs for a list of samples, in eval mode and without a graph.

        The module's train/eval mode is restored afterwards.
        """
        if isinstance(xs, (str, bytes)) or not hasattr(xs, "__iter__"):
            raise TypeError(f"{type(self).__name__}.predict: expected a list of samples, got {type(xs).__name__}")
        if (isinstance(xs, (list, tuple)) and xs and not isinstance(xs[0], bool)
                and isinstance(xs[0], (Value, numbers.Real))):
            one = [v.data if isinstance(v, Value) else v for v in xs]
            raise TypeError(f"{type(self).__name__}.predict: expected a list of samples; for one sample write "
                            f"predict([{one!r}])"[:300])
        was = self.training
        self.eval()
        try:
            fn = self._float_fn()
            if fn is not None:
                # Plain-float forward with a snapshot of the weights: no Value
                # objects at all, ~10x faster for decision-boundary grids and
                # validation passes, with the same arithmetic as the graph.
                return [fn(x) for x in xs]
            with no_grad():
                out = self.forward_batch(list(xs))
        finally:
            self.train(was)
        return [_to_data(o) if isinstance(o, list) else o.data for o in out]

    def _float_fn(self):
        """A function list[float] -> output floats for eval mode, or None if this module has none."""
        return None

    # -- parameters -------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator:
        """``(prefix, module)`` for this module (prefix ``""``) and every sub-module (``"0."``, ``"l1."``)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}{name}.")

    def parameters(self) -> List[Value]:
        """Every trainable leaf Value, in a fixed order (each once, even if shared)."""
        out = []
        for _, m in self.named_modules():
            for _, t, is_param in m._tensors():
                if is_param:
                    out.extend(_flat(t))
        if len(out) > 1 and len({id(p) for p in out}) != len(out):
            seen = set()
            out = [p for p in out if not (id(p) in seen or seen.add(id(p)))]
        return out

    def named_parameters(self) -> List[tuple]:
        """``(name, Value)`` for every parameter, in ``parameters()`` order.

        One pair per scalar parameter, named after its ``state_dict`` key and
        index, e.g. ``"0.weight[3][1]"`` and ``"0.bias[3]"`` for an MLP.

        >>> from nn import MLP
        >>> [name for name, _ in MLP(2, [1, 1], seed=0).named_parameters()]
        ['0.weight[0][0]', '0.weight[0][1]', '0.bias[0]', '1.weight[0][0]', '1.bias[0]']
        """
        out, seen = [], set()
        for prefix, m in self.named_modules():
            for name, t, is_param in m._tensors():
                if is_param:
                    for n, p in _named_leaves(t, prefix + name):
                        if id(p) not in seen:
                            seen.add(id(p))
                            out.append((n, p))
        return out

    def num_parameters(self) -> int:
        return len(self.parameters())

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> "Module":
        """Training mode (Dropout drops, BatchNorm uses batch statistics). Returns self."""
        if type(mode) is not bool:
            raise TypeError(f"Module.train: mode must be True or False, got {mode!r}")
        for _, m in self.named_modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        """Evaluation mode (Dropout is the identity, BatchNorm uses running statistics)."""
        return self.train(False)

    # -- state dicts -------------------------------------------------------------
    def _all_tensors(self) -> list:
        out = []
        for prefix, m in self.named_modules():
            for name, t, is_param in m._tensors():
                out.append((prefix + name, t, is_param))
        return out

    def state_dict(self) -> dict:
        """``{name: nested list of floats}`` for parameters and buffers (a copy).

        Names follow PyTorch: ``"0.weight"`` is a (fan_out, fan_in) list of lists.
        """
        return {name: _to_data(t) for name, t, _ in self._all_tensors()}

    def load_state_dict(self, state: dict, strict: bool = True, *, allow_nonfinite: bool = False) -> None:
        """Copy weights from ``state`` into this model, all or nothing.

        Every key, shape and number is checked before anything is written;
        on any problem ``StateDictError`` (a ValueError) names it and the
        model is left untouched.  With ``strict=False`` missing and extra
        keys are ignored.  nan/inf weights are refused unless
        ``allow_nonfinite=True``.
        """
        if not isinstance(state, dict):
            raise StateDictError(f"load_state_dict: expected a dict of name -> weights, got {type(state).__name__}")
        tensors = self._all_tensors()
        expected = {name for name, _, _ in tensors}
        if strict:
            missing = [n for n, _, _ in tensors if n not in state]
            if missing:
                raise StateDictError(f"load_state_dict: missing key(s) {missing}; the file was saved from a "
                                     f"different architecture")
            extra = sorted(str(k) for k in state if k not in expected)
            if extra:
                raise StateDictError(f"load_state_dict: unexpected key(s) {extra}; the file was saved from a "
                                     f"different architecture")
        todo = []
        for name, t, _ in tensors:
            if name not in state:
                continue
            _check_numbers(state[name], _shape(t), repr(name), "", allow_nonfinite)
            todo.append((t, state[name]))
        # Validated: now write in place (parameters keep their identity, so
        # optimisers and the neurons' fused w+[b] lists stay valid).
        for t, src in todo:
            _assign(t, src)

    # -- display -----------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = self.named_children()
        head = f"{type(self).__name__}({self.extra_repr()})"
        if not kids:
            return head
        extra = self.extra_repr()
        lines = [f"{type(self).__name__}({extra + ', ' if extra else ''}params={self.num_parameters()})"]
        for name, k in kids:
            lines.append(f"  ({name}): " + repr(k).replace("\n", "\n  "))
        return "\n".join(lines)


def _assign(t, src) -> None:
    """Write floats ``src`` into the nested Values/float list ``t`` in place."""
    if isinstance(t, Value):
        t.data = float(src)
        return
    for i, s in enumerate(src):
        ti = t[i]
        if isinstance(ti, list):
            _assign(ti, s)
        elif isinstance(ti, Value):
            ti.data = float(s)
        else:  # a buffer of floats
            t[i] = float(s)


# ---------------------------------------------------------------------------

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
        self.nin = _check_int("nin", nin, "Neuron")
        self.activation = _check_activation(activation, "Neuron")
        self.init = resolve_init(_check_init(init, "Neuron"), activation)
        rng = _as_rng(seed, "Neuron")
        self.w = [Value(v) for v in init_weights(rng, self.init, nin, fan_out, nin)]
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
        self.nin = _check_int("nin", nin, "Layer")
        self.nout = _check_int("nout", nout, "Layer")
        self.activation = _check_activation(activation, "Layer")
        self.init = resolve_init(_check_init(init, "Layer"), activation)
        rng = _as_rng(seed, "Layer")
        self.neurons = [Neuron(nin, activation, init=self.init, seed=rng, fan_out=nout) for _ in range(nout)]
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
            x = _as_input(x, f"Layer.forward_batch: sample {s}")
            if len(x) != self.nin:
                raise ValueError(f"Layer.forward_batch: sample {s} has length {len(x)}, expected {self.nin} "
                                 f"(check the model's nin or the sample)")
            x.append(1.0)
            batch.append(x)
        return self._outputs(batch, lambda s: f"Layer.forward_batch: sample {s}")

    def _outputs(self, batch: list, where: Callable[[int], str]) -> list:
        """Activations for samples already checked and extended with the bias input 1.0:
        one fused dot node per neuron and sample (rows are w + [b]), then the activation."""
        try:
            out = linear(batch, self._wbs)
        except TypeError:
            for s, x in enumerate(batch):  # a batch passed as one sample: say so
                err = _batch_error(x[:-1], where(s), self.nin)
                if err is not None:
                    raise err from None
            raise
        act = self.activation
        if act == "linear":
            return out
        if act == "relu":  # the common case without a getattr per value
            return [[y.relu() for y in ys] for ys in out]
        return [[getattr(y, act)() for y in ys] for ys in out]

    def _tensors(self) -> list:
        return [("weight", [n.w for n in self.neurons], True), ("bias", [n.b for n in self.neurons], True)]

    def _float_fn(self):
        rows = [[p.data for p in wb] for wb in self._wbs]
        act = _FLOAT_ACT[self.activation]
        nin = self.nin

        def f(x: list) -> list:
            x = _as_input(x, "Layer")
            if len(x) != nin:
                raise ValueError(f"Layer: expected an input of length {nin}, got {len(x)}")
            try:
                x = [float(v) for v in x] + [1.0]
            except (TypeError, ValueError):
                raise TypeError(f"Layer: inputs must be numbers, got {x!r}"[:200]) from None
            out = []
            for row in rows:
                y = 0.0
                for w, v in zip(row, x):  # the same order of operations as engine.dot
                    y += w * v
                out.append(act(y))
            return out
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
        self.activation = _check_activation(activation, "Activation")

    def __call__(self, x: Sequence) -> list:
        act = self.activation
        if act == "linear":
            return list(x)
        return [getattr(v, act)() if isinstance(v, Value) else getattr(Value(v), act)() for v in x]

    def config(self) -> dict:
        return {"type": "Activation", "activation": self.activation}

    def _float_fn(self):
        act = _FLOAT_ACT[self.activation]
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
        if type(p) is bool or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.seed = seed
        self._rng = _as_rng(seed, "Dropout")

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
        self.num_features = _check_int("num_features", num_features, "BatchNorm")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"BatchNorm: eps must be a number > 0, got {eps!r}")
        if not (isinstance(momentum, (int, float)) and 0.0 <= momentum <= 1.0):
            raise ValueError(f"BatchNorm: momentum must be in [0, 1], got {momentum!r}")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.weight = [Value(1.0) for _ in range(num_features)]
        self.bias = [Value(0.0) for _ in range(num_features)]
        self.running_mean = [0.0] * num_features
        self.running_var = [1.0] * num_features
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
        hs = list(xs)
        for m in self.modules:
            hs = m.forward_batch(hs)
        return [h[0] if isinstance(h, list) and len(h) == 1 else h for h in hs]

    def config(self) -> dict:
        return {"type": "Sequential", "modules": [m.config() for m in self.modules]}

    def _float_fn(self):
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
        _check_int("nin", nin, "MLP")
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
        for i, n in enumerate(nouts):
            _check_int(f"nouts[{i}]", n, "MLP")
        _check_activation(activation, "MLP")
        _check_init(init, "MLP")
        if type(batchnorm) is not bool:
            raise TypeError(f"MLP: batchnorm must be True or False, got {batchnorm!r}")
        rng = _as_rng(seed, "MLP")
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
        self.seed = seed if isinstance(seed, int) else None

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


_TYPES = {"Neuron": Neuron, "Layer": Layer, "Activation": Activation, "Dropout": Dropout,
          "BatchNorm": BatchNorm, "Sequential": Sequential, "MLP": MLP}


def from_config(config: dict) -> Module:
    """Build a fresh module from ``Module.config()`` output (weights are re-initialised).

    Raises ValueError naming the bad field for configs that do not describe a module.
    """
    if not isinstance(config, dict):
        raise ValueError(f"from_config: architecture must be a JSON object, got {type(config).__name__}")
    kind = config.get("type")
    if kind not in _TYPES:
        raise ValueError(f"from_config: unknown module type {kind!r}; known: {', '.join(_TYPES)}")
    args = {k: v for k, v in config.items() if k != "type"}
    try:
        if kind == "Sequential":
            subs = args.get("modules")
            if not isinstance(subs, list):
                raise ValueError("from_config: Sequential needs a 'modules' list")
            return Sequential(*[from_config(c) for c in subs])
        if kind in ("Neuron", "Layer"):
            return _TYPES[kind](**args)
        if kind == "MLP":
            nin, nouts = args.pop("nin", None), args.pop("nouts", None)
            if nin is None or nouts is None:
                raise ValueError("from_config: MLP needs 'nin' and 'nouts'")
            return MLP(nin, nouts, **args)
        return _TYPES[kind](**args)
    except TypeError as e:
        raise ValueError(f"from_config: bad {kind} architecture {config!r}: {e}") from None
