"""Optimisers (SGD, Adam, AdamW) and learning-rate schedules, following ``torch.optim``.

>>> from engine import Value
>>> from nn.optim import SGD, LinearLR
>>> w = Value(1.0); opt = SGD([w], lr=0.1)
>>> w.grad = 2.0; opt.step(); round(w.data, 6)
0.8

Optimisers update ``p.data`` in place from ``p.grad``; they keep their
state (momentum buffers, Adam moments) in plain float lists, parallel to
the parameter list.  Schedules set ``optimizer.lr`` each ``step()``.
"""
from __future__ import annotations

import math
from typing import Iterable, List, Tuple

from engine import Value

from .checks import integer, real


class Optimizer:
    """Base class: holds ``params`` (leaf Values) and ``lr``; ``zero_grad()`` clears their grads."""

    __slots__ = ("params", "lr", "weight_decay")

    def __init__(self, params: Iterable[Value], lr: float, weight_decay: float = 0.0) -> None:
        where = type(self).__name__
        if hasattr(params, "parameters"):  # a Module: a common slip, accept it
            params = params.parameters()
        try:
            ps = list(params)
        except TypeError:
            raise TypeError(f"{where}: params must be a list of Values (model.parameters()), "
                            f"got {type(params).__name__}") from None
        if not ps:
            raise ValueError(f"{where}: got an empty parameter list; pass model.parameters()")
        seen = set()
        for i, p in enumerate(ps):
            if not isinstance(p, Value):
                raise TypeError(f"{where}: params[{i}] must be a Value, got {type(p).__name__} {p!r}")
            if p.parents:  # as PyTorch: a computed Value is rebuilt every step, so updating it does nothing
                raise ValueError(f"{where}: params[{i}] is the result of op '{p.op}', not a leaf; pass the Values "
                                 f"you created (model.parameters())")
            if id(p) in seen:  # would be stepped twice per step
                raise ValueError(f"{where}: params[{i}] is listed twice; pass each parameter once")
            seen.add(id(p))
        self.params: List[Value] = ps
        self.lr = real(lr, "lr", where, minimum=0.0)
        self.weight_decay = real(weight_decay, "weight_decay", where, minimum=0.0)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError

    # -- saving and resuming (PyTorch's names; plain JSON-able data) --------------------
    def state_dict(self) -> dict:
        """Hyperparameters and per-parameter state (momentum buffers, Adam's moments), in ``params`` order.

        >>> from engine import Value
        >>> opt = Adam([Value(1.0)], lr=0.1); opt.state_dict()["step"]
        0
        """
        return {"type": type(self).__name__, "params": len(self.params), "lr": self.lr,
                "weight_decay": self.weight_decay, **self._state()}

    def load_state_dict(self, state: dict) -> None:
        """Resume from ``state_dict()`` output (for the same parameters, in the same order); all or nothing."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict):
            raise TypeError(f"{where}: expected a dict from state_dict(), got {type(state).__name__}")
        if "type" not in state:
            raise ValueError(f"{where}: not a state_dict() of chainrule's {type(self).__name__} (a torch.optim one? "
                             f"the two formats differ)")
        if state["type"] != type(self).__name__:
            raise ValueError(f"{where}: the state is from {state['type']!r}, not {type(self).__name__}")
        missing = [k for k in self.state_dict() if k not in state]
        if missing:
            raise ValueError(f"{where}: the state lacks {', '.join(map(repr, missing))}")
        if state["params"] != len(self.params):
            raise ValueError(f"{where}: the state is for {state['params']!r} parameters, this optimiser has "
                             f"{len(self.params)}")
        lr = real(state["lr"], "lr", where, minimum=0.0)
        wd = real(state["weight_decay"], "weight_decay", where, minimum=0.0)
        apply = self._load(state, where)  # checks everything first: a bad state changes nothing
        self.lr, self.weight_decay = lr, wd
        apply()

    def _state(self) -> dict:
        return {}

    def _load(self, state: dict, where: str):
        return lambda: None

    def _buffer(self, state: dict, key: str, where: str, allow_empty: bool = False, minimum=None) -> list:
        """``state[key]`` as a list of finite floats, one per parameter (or empty, where allowed)."""
        buf = state[key]
        if not isinstance(buf, list) or not (len(buf) == len(self.params) or (allow_empty and not buf)):
            got = f"{len(buf)} numbers" if isinstance(buf, list) else type(buf).__name__
            raise ValueError(f"{where}: {key} must hold one number per parameter ({len(self.params)}), got {got}")
        return [real(x, f"{key}[{i}]", where, minimum=minimum) for i, x in enumerate(buf)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr:g}, params={len(self.params)})"


class SGD(Optimizer):
    """Stochastic gradient descent, ``torch.optim.SGD``'s update rule.

    ``g = grad + weight_decay * p``; with momentum ``buf = momentum * buf + (1 - dampening) * g``
    (``buf = g`` on the first step) and ``g = buf`` (or ``g + momentum * buf`` with nesterov);
    then ``p -= lr * g``.
    """

    __slots__ = ("momentum", "dampening", "nesterov", "_buf")

    def __init__(self, params: Iterable[Value], lr: float = 0.01, momentum: float = 0.0, *,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = real(momentum, "momentum", "SGD", minimum=0.0)
        self.dampening = real(dampening, "dampening", "SGD", minimum=0.0)
        self.nesterov = _nesterov(nesterov, self.momentum, self.dampening, "SGD")
        self._buf: List[float] = []

    def step(self) -> None:
        lr, wd, mom = self.lr, self.weight_decay, self.momentum
        params = self.params
        if mom == 0.0:
            if wd == 0.0:  # the common case: one multiply-subtract per parameter
                for p in params:
                    p.data -= lr * p.grad
            else:
                for p in params:
                    p.data -= lr * (p.grad + wd * p.data)
            return
        damp, nesterov = 1.0 - self.dampening, self.nesterov
        buf = self._buf
        first = not buf
        if first:
            buf.extend([0.0] * len(params))
        for i, p in enumerate(params):
            g = p.grad + wd * p.data if wd else p.grad
            b = g if first else mom * buf[i] + damp * g
            buf[i] = b
            p.data -= lr * (g + mom * b if nesterov else b)

    def _state(self) -> dict:
        return {"momentum": self.momentum, "dampening": self.dampening, "nesterov": self.nesterov,
                "momentum_buffer": list(self._buf)}

    def _load(self, state: dict, where: str):
        momentum = real(state["momentum"], "momentum", where, minimum=0.0)
        dampening = real(state["dampening"], "dampening", where, minimum=0.0)
        nesterov = _nesterov(state["nesterov"], momentum, dampening, where)
        buf = self._buffer(state, "momentum_buffer", where, allow_empty=True)

        def apply():
            self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov
            self._buf[:] = buf
        return apply


def _nesterov(nesterov, momentum: float, dampening: float, where: str) -> bool:
    """SGD's nesterov flag: a bool (numpy's too), and only with momentum > 0 and no dampening, as PyTorch."""
    dtype = getattr(nesterov, "dtype", None)
    if type(nesterov) is not bool and not (dtype is not None and dtype.kind == "b" and nesterov.ndim == 0):
        raise TypeError(f"{where}: nesterov must be True or False, got {nesterov!r}"[:200])
    if nesterov and (momentum == 0.0 or dampening != 0.0):
        raise ValueError(f"{where}: nesterov needs momentum > 0 and dampening = 0")
    return bool(nesterov)


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``): bias-corrected first and second moments.

    ``weight_decay`` adds ``weight_decay * p`` to the gradient (L2, as torch's
    Adam); use ``AdamW`` for decoupled weight decay.
    """

    __slots__ = ("beta1", "beta2", "eps", "t", "_m", "_v", "_decoupled")

    def __init__(self, params: Iterable[Value], lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        where = type(self).__name__
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.beta1 = real(b1, "betas[0]", where, minimum=0.0, maximum=1.0, high_open=True)
        self.beta2 = real(b2, "betas[1]", where, minimum=0.0, maximum=1.0, high_open=True)
        self.eps = real(eps, "eps", where, minimum=0.0, low_open=True)  # eps = 0 divides 0 by 0 for a zero gradient
        self.t = 0
        self._m = [0.0] * len(self.params)
        self._v = [0.0] * len(self.params)
        self._decoupled = False

    def step(self) -> None:
        self.t += 1
        b1, b2, eps, lr, wd = self.beta1, self.beta2, self.eps, self.lr, self.weight_decay
        bc1 = 1.0 - b1 ** self.t
        bc2_sqrt = math.sqrt(1.0 - b2 ** self.t)
        step_size = lr / bc1  # the same arithmetic order as torch.optim.Adam
        m, v = self._m, self._v
        sqrt = math.sqrt
        for i, p in enumerate(self.params):
            g = p.grad
            if wd:
                if self._decoupled:
                    p.data *= 1.0 - lr * wd
                else:
                    g = g + wd * p.data
            mi = m[i] = b1 * m[i] + (1.0 - b1) * g
            vi = v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p.data -= step_size * mi / (sqrt(vi) / bc2_sqrt + eps)

    def _state(self) -> dict:
        return {"betas": [self.beta1, self.beta2], "eps": self.eps, "step": self.t,
                "exp_avg": list(self._m), "exp_avg_sq": list(self._v)}

    def _load(self, state: dict, where: str):
        betas = state["betas"]
        if not isinstance(betas, (list, tuple)) or len(betas) != 2:
            raise ValueError(f"{where}: betas must be a pair, got {betas!r}"[:200])
        b1 = real(betas[0], "betas[0]", where, minimum=0.0, maximum=1.0, high_open=True)
        b2 = real(betas[1], "betas[1]", where, minimum=0.0, maximum=1.0, high_open=True)
        eps = real(state["eps"], "eps", where, minimum=0.0, low_open=True)
        t = integer(state["step"], "step", where, minimum=0, maximum=2 ** 53)
        m = self._buffer(state, "exp_avg", where)
        v = self._buffer(state, "exp_avg_sq", where, minimum=0.0)  # squares: a negative one is damage

        def apply():
            self.beta1, self.beta2, self.eps, self.t = b1, b2, eps, t
            self._m[:], self._v[:] = m, v
        return apply


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``; default weight_decay 0.01)."""

    __slots__ = ()

    def __init__(self, params: Iterable[Value], lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
        self._decoupled = True


# ---------------------------------------------------------------------------
# Learning-rate schedules: like torch.optim.lr_scheduler, call step() once per
# epoch (or per optimiser step) after optimizer.step().  Alone, a schedule is a
# closed form (the lr at step t has no float drift from earlier steps); chained
# with another, it scales the lr it finds, as PyTorch's chainable forms do.

class LRScheduler:
    """Base: ``base_lr`` is the optimiser's lr at construction; ``step()`` advances one step.

    Alone, a scheduler sets ``base_lr * factor(t)``.  If something else changed
    the lr since its last step (another scheduler on the same optimiser, or
    ``fit(lr=...)``), it scales that lr by ``factor(t) / factor(t - 1)``
    instead, so schedulers chain by multiplying, as PyTorch's do.
    """

    __slots__ = ("optimizer", "base_lr", "last_epoch", "_set")

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an optimizer (SGD, Adam, ...), "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        self._set = optimizer.lr  # the lr this scheduler last set; None once it chains with another

    def factor(self, t: int) -> float:
        raise NotImplementedError

    def get_lr(self, t: int = None) -> float:
        """The learning rate at step ``t`` (default: the current one)."""
        return self.base_lr * self.factor(self.last_epoch if t is None else t)

    def step(self) -> None:
        self.last_epoch += 1
        lr = self.optimizer.lr
        if self._set is None or lr != self._set:  # changed by someone else: chain from now on
            self.optimizer.lr = self._chained(lr, self.last_epoch)
            self._set = None
        else:
            self.optimizer.lr = self._set = self.get_lr()

    def _chained(self, lr: float, t: int) -> float:
        """Step t applied to an lr that others set too: scaled by this schedule's ratio."""
        before = self.get_lr(t - 1)
        return lr * (self.get_lr(t) / before) if before else self.get_lr(t)

    def state_dict(self) -> dict:
        """Where the schedule is (PyTorch's name): load it after the optimiser's state to resume training.

        >>> from engine import Value
        >>> sched = StepLR(SGD([Value(1.0)], lr=0.1), 3); sched.step(); sched.state_dict()["last_epoch"]
        1
        """
        return {"type": type(self).__name__, "base_lr": self.base_lr, "last_epoch": self.last_epoch,
                "chained": self._set is None}

    def load_state_dict(self, state: dict) -> None:
        """Resume from ``state_dict()``: load the optimiser's state first (it holds the current lr)."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict) or state.get("type") != type(self).__name__:
            got = state.get("type") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{where}: expected the state_dict() of a {type(self).__name__}, got {got!r}"[:200])
        base = real(state.get("base_lr"), "base_lr", where, minimum=0.0)
        t = integer(state.get("last_epoch"), "last_epoch", where, minimum=0)
        if type(state.get("chained")) is not bool:
            raise TypeError(f"{where}: chained must be True or False, got {state.get('chained')!r}")
        self.base_lr, self.last_epoch = base, t
        self._set = None if state["chained"] else self.optimizer.lr

    def rebase(self, lr: float) -> None:
        """Take ``lr`` as the base from the current step on (``fit(lr=..., schedule=scheduler)`` does).

        >>> from engine import Value
        >>> opt = SGD([Value(1.0)], lr=0.1); sched = LinearLR(opt, 0.5, 1.0, 4)
        >>> sched.rebase(0.2); opt.lr
        0.1
        """
        self.base_lr = real(lr, "lr", f"{type(self).__name__}.rebase", minimum=0.0)
        self.optimizer.lr = self._set = self.get_lr()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_lr={self.base_lr:g}, step={self.last_epoch})"


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps."""

    __slots__ = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = integer(step_size, "step_size", "StepLR", minimum=1)
        self.gamma = real(gamma, "gamma", "StepLR", minimum=0.0)

    def factor(self, t: int) -> float:
        return self.gamma ** (t // self.step_size)


class LinearLR(LRScheduler):
    """Linear from ``start_factor * lr`` to ``end_factor * lr`` over ``total_iters`` steps, then constant.

    Defaults are torch's (1/3 -> 1 over 5 steps, a warm-up).

    micrograd's demo schedule ``lr = 1.0 - 0.9 * k / 100`` is
    ``LinearLR(SGD(params, lr=1.0), start_factor=1.0, end_factor=0.1, total_iters=100)``.
    """

    __slots__ = ("start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        super().__init__(optimizer)
        # PyTorch's ranges: 0 < start_factor <= 1, 0 <= end_factor <= 1
        self.start_factor = real(start_factor, "start_factor", "LinearLR", minimum=0.0, maximum=1.0, low_open=True)
        self.end_factor = real(end_factor, "end_factor", "LinearLR", minimum=0.0, maximum=1.0)
        self.total_iters = integer(total_iters, "total_iters", "LinearLR", minimum=1)
        optimizer.lr = self._set = self.get_lr(0)

    def factor(self, t: int) -> float:
        t = min(t, self.total_iters)
        return self.start_factor + (self.end_factor - self.start_factor) * t / self.total_iters


class CosineAnnealingLR(LRScheduler):
    """Cosine from lr down to ``eta_min`` over ``T_max`` steps (no restarts; constant after)."""

    __slots__ = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = integer(T_max, "T_max", "CosineAnnealingLR", minimum=1)
        self.eta_min = real(eta_min, "eta_min", "CosineAnnealingLR", minimum=0.0)

    def get_lr(self, t: int = None) -> float:
        t = min(self.last_epoch if t is None else t, self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * t / self.T_max)) / 2.0

    def factor(self, t: int) -> float:
        return self.get_lr(t) / self.base_lr if self.base_lr else 0.0

    def _chained(self, lr: float, t: int) -> float:
        """PyTorch's chainable cosine: eta_min stays the floor (the ratio applies above it)."""
        if t > self.T_max:  # constant after T_max (PyTorch's rises again)
            return lr
        c = math.pi / self.T_max
        return self.eta_min + (lr - self.eta_min) * (1.0 + math.cos(c * t)) / (1.0 + math.cos(c * (t - 1)))


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
SCHEDULES = ("none", "step", "linear", "cosine")


def make_scheduler(name: str, optimizer: Optimizer, total_steps: int):
    """A schedule by name for ``total_steps`` steps: ``none`` (returns None), ``step``
    (x0.1 every third of the run), ``linear`` (to 0.1x, micrograd's demo) or ``cosine`` (to 0)."""
    if name == "none":
        return None
    if name == "step":
        return StepLR(optimizer, step_size=max(1, total_steps // 3), gamma=0.1)
    if name == "linear":
        return LinearLR(optimizer, 1.0, 0.1, max(1, total_steps))
    if name == "cosine":
        return CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    raise ValueError(f"make_scheduler: unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
