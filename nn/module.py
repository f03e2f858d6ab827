"""The ``Module`` base class: parameters, train/eval mode, state dicts.

The layers built on it (``Neuron``, ``Layer``, ``MLP``, ...) live in
``nn.layers`` and the init schemes in ``nn.init``; both are re-exported here
so ``nn.module.MLP`` keeps working.

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
``0.weight``, ``0.bias``, ...

Parameter names and labels: ``named_parameters()`` gives ``(name, Value)``
pairs in ``parameters()`` order, one per scalar parameter, named after its
``state_dict`` key and index: ``"0.weight[3][1]"`` is weight 1 of neuron 3
of layer 0, ``"0.bias[3]"`` its bias (a lone ``Neuron`` has ``"weight[1]"``
and ``"bias"``).  Every parameter's ``.label`` is set to that name when the
module is built (and again when it is assigned into a larger module), so
``engine.draw_dot`` pictures show which weight is which.

>>> from nn import MLP
>>> len(MLP(2, [16, 16, 1], seed=0).parameters())
337
"""
from __future__ import annotations

import math
import numbers
from itertools import chain
from operator import attrgetter
from typing import Iterator, List, Sequence

from engine import Value, no_grad

from .checks import check_samples, short


class StateDictError(ValueError):
    """``load_state_dict`` was given weights that do not fit the model (nothing was changed)."""


# ---------------------------------------------------------------------------
# nested lists of Values / floats (weights are lists of rows)

def _shape(obj) -> tuple:
    """Shape of a nested list of Values/numbers (rectangular by construction)."""
    shape = []
    while isinstance(obj, list):
        shape.append(len(obj))
        if not obj:
            break
        obj = obj[0]
    return tuple(shape)



def flatten(obj) -> list:
    """The non-list items of the nested lists ``obj``, in order (``[obj]`` for a bare item)."""
    level = obj if isinstance(obj, list) else [obj]
    while True:  # one C-level pass per nesting level while every level is uniform (weights are)
        kinds = set(map(type, level))
        if not any(issubclass(k, list) for k in kinds):
            return list(level)
        if not all(issubclass(k, list) for k in kinds):
            break
        level = list(chain.from_iterable(level))
    out, stack = [], [obj]
    while stack:  # iterative: a crafted nesting cannot hit the recursion limit
        o = stack.pop()
        if isinstance(o, list):
            stack.extend(reversed(o))
        else:
            out.append(o)
    return out


def _to_data(obj):
    if isinstance(obj, list):
        return [_to_data(o) for o in obj]
    return obj.data if isinstance(obj, Value) else float(obj)


def _check_numbers(obj, like, key: str, path: str = "", allow_nonfinite: bool = False) -> None:
    """Raise StateDictError unless ``obj`` is a nested list of (finite) numbers shaped as ``like``.

    ``like``: the tensor being loaded into (nested lists of Values or floats), so a
    ragged tensor (rows of different lengths) is checked row by row.
    """
    if not isinstance(like, list):
        if type(obj) is bool or not isinstance(obj, numbers.Real):  # numpy's numbers too
            raise StateDictError(
                f"load_state_dict: {key}{path} must be a number, got {type(obj).__name__} {short(obj)}")
        try:
            x = float(obj)
        except OverflowError:
            raise StateDictError(f"load_state_dict: {key}{path} is a number too large for a float") from None
        except (TypeError, ValueError):  # a Real that float() refuses (numpy's timedelta64, say)
            raise StateDictError(f"load_state_dict: {key}{path} must be a number, got {type(obj).__name__} "
                                 f"{short(obj)}") from None
        if not allow_nonfinite and not math.isfinite(x):
            raise StateDictError(f"load_state_dict: {key}{path} must be finite, got {obj!r} "
                                 f"(pass allow_nonfinite=True to load nan/inf weights anyway)")
        return
    if not isinstance(obj, list) or len(obj) != len(like):
        got = f"a list of length {len(obj)}" if isinstance(obj, list) else f"{type(obj).__name__} {short(obj)}"
        raise StateDictError(
            f"load_state_dict: {key}{path} has the wrong shape: expected a list of length {len(like)} "
            f"(full shape {_shape(like)}), got {got}")
    for i, (o, t) in enumerate(zip(obj, like)):
        _check_numbers(o, t, key, f"{path}[{i}]", allow_nonfinite)


def _is_param(v) -> bool:
    return isinstance(v, Value) and v.op == ""  # a computed result (op != "") is not a parameter


_op_of = attrgetter("op")


def _param_lists(obj):
    """Nested lists/tuples of leaf Values as nested lists of the same Values, else None.

    C-level checks for a row of only lists/tuples or only Values (rows may
    differ in length): ``parameters()`` walks every module each call
    (``model.zero_grad()`` each step), and a per-leaf generator cost 9 ms on
    a 4,192-param GPT.  A row mixing both, or holding list subclasses, is
    checked item by item.
    """
    kinds = set(map(type, obj))
    if not kinds <= {list, tuple} and all(issubclass(k, Value) for k in kinds):  # a row of Values
        return list(obj) if set(map(_op_of, obj)) == {""} else None
    out = []
    for o in obj:
        if isinstance(o, (list, tuple)):
            o = _param_lists(o)
            if o is None:
                return None
        elif not _is_param(o):
            return None
        out.append(o)
    return out


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
        t = _param_lists(value)
        if t is not None:
            return (name, t, True), []
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

        Every feature must be a finite number (``ValueError``/``TypeError``
        naming the sample otherwise).  The module's train/eval mode is
        restored afterwards.

        >>> from nn import MLP
        >>> len(MLP(2, [4, 3], seed=0).predict([[0.5, -1.0], [1.0, 2.0]])[1])
        3
        """
        if isinstance(xs, (str, bytes)) or not hasattr(xs, "__iter__"):
            raise TypeError(f"{type(self).__name__}.predict: expected a list of samples, got {type(xs).__name__}")
        if (isinstance(xs, (list, tuple)) and xs and not isinstance(xs[0], bool)
                and isinstance(xs[0], (Value, numbers.Real))):
            one = [v.data if isinstance(v, Value) else v for v in xs]
            raise TypeError(f"{type(self).__name__}.predict: expected a list of samples; for one sample write "
                            f"predict([{one!r}])"[:300])
        # every feature a finite number, checked up front: a NaN would come back as a plausible-looking nan
        xs = check_samples(xs, "X", f"{type(self).__name__}.predict", width=getattr(self, "nin", None), values=False)
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
                out = self.forward_batch(xs)
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
                    out.extend(flatten(t))
        if len(out) > 1 and len(set(map(id, out))) != len(out):
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
            _check_numbers(state[name], t, repr(name), "", allow_nonfinite)
            todo.append((t, state[name]))
        for prefix, m in self.named_modules():
            m._check_state({name: state[prefix + name] for name, _, _ in m._tensors() if prefix + name in state},
                           prefix)
        # Validated: now write in place (parameters keep their identity, so
        # optimisers and the neurons' fused w+[b] lists stay valid).
        for t, src in todo:
            _assign(t, src)

    def _check_state(self, values: dict, prefix: str) -> None:
        """Refuse (``StateDictError``) numbers that fit the shapes but not this module's meaning.

        ``values`` maps this module's own tensor names to the (already
        shape-checked) nested lists about to be loaded; ``prefix`` is the
        module's key prefix, for messages.  Default: anything goes.
        """

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


# These names lived here before nn.layers and nn.init existed; `nn.module.MLP` keeps working.
# Looked up on first use, because nn.layers itself imports this module.
_MOVED = {"ACTIVATIONS": "layers", "MLP": "layers", "Activation": "layers", "BatchNorm": "layers",
          "Dropout": "layers", "Layer": "layers", "Neuron": "layers", "Sequential": "layers",
          "from_config": "layers", "INITS": "init", "init_weights": "init", "resolve_init": "init"}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib
        return getattr(importlib.import_module(f"{__package__}.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
