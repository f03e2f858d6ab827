"""``to_torch`` / ``from_torch``: continue a model in PyTorch (batching, GPUs, distributed training
live there), or bring a small PyTorch model here to look inside it.

PyTorch is optional and imported only inside these functions (``pip install torch``).
Layers are float64, so outputs agree with chainrule's to about 1e-15.

| chainrule                          | torch.nn                                            |
| ---------------------------------- | --------------------------------------------------- |
| ``Layer(nin, nout, act)``          | ``Linear(nin, nout)`` + ``ReLU``/``Tanh``/``Sigmoid`` (nothing for linear) |
| ``Neuron(nin, act)``               | ``Linear(nin, 1)`` + activation                     |
| ``Activation(act)``                | ``ReLU``/``Tanh``/``Sigmoid``/``Identity``          |
| ``Dropout(p)``                     | ``Dropout(p)``                                      |
| ``BatchNorm(n, eps, momentum)``    | ``BatchNorm1d(n, eps, momentum)`` with its running statistics |
| ``MLP`` / ``Sequential``           | ``Sequential`` of the above                         |
| ``TabularModel``                   | ``Sequential(standardise, net, unstandardise)``: the scalings are diagonal ``Linear`` layers |

>>> from nn import MLP
>>> model = MLP(2, [16, 16, 1], seed=0)
>>> tmodel = to_torch(model)                       # doctest: +SKIP
>>> same = from_torch(tmodel)                      # doctest: +SKIP
"""
from __future__ import annotations

from typing import List

from .layers import MLP, Activation, BatchNorm, Dropout, Layer, Neuron, Sequential
from .module import Module
from .tabular import TabularModel

_TORCH_ACT = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("nn.to_torch / nn.from_torch need PyTorch: pip install torch") from None
    return torch


def _linear(torch, weight: List[List[float]], bias: List[float]):
    lin = torch.nn.Linear(len(weight[0]), len(weight), dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(weight, dtype=torch.float64))
        lin.bias.copy_(torch.tensor(bias, dtype=torch.float64))
    return lin


def _diagonal(torch, scale: List[float], shift: List[float]):
    """x * scale + shift per feature, as a Linear layer with a diagonal weight."""
    n = len(scale)
    return _linear(torch, [[scale[i] if i == j else 0.0 for j in range(n)] for i in range(n)], shift)


def _convert(torch, m: Module) -> list:
    if isinstance(m, TabularModel):
        inv = [1.0 / s for s in m.std]
        # (x - mean) * (1 / std) as TabularModel.standardize computes it: the shift first, then the
        # scale (one layer x * inv - mean * inv lost digits to cancellation: 2e-5 on 1e8-sized columns)
        out = [_diagonal(torch, [1.0] * len(inv), [-mu for mu in m.mean]), _diagonal(torch, inv, [0.0] * len(inv))]
        out += _convert(torch, m.net)
        if m.task == "regression":
            out.append(_diagonal(torch, m.target_std, m.target_mean))
        return out
    if isinstance(m, Sequential):  # MLP too
        return [t for sub in m.modules for t in _convert(torch, sub)]
    if isinstance(m, (Layer, Neuron)):
        sd = m.state_dict()
        weight, bias = (sd["weight"], sd["bias"]) if isinstance(m, Layer) else ([sd["weight"]], [sd["bias"]])
        act = [getattr(torch.nn, _TORCH_ACT[m.activation])()] if m.activation in _TORCH_ACT else []
        return [_linear(torch, weight, bias)] + act
    if isinstance(m, Activation):
        return [getattr(torch.nn, _TORCH_ACT[m.activation])() if m.activation in _TORCH_ACT else torch.nn.Identity()]
    if isinstance(m, Dropout):
        return [torch.nn.Dropout(m.p)]
    if isinstance(m, BatchNorm):
        bn = torch.nn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum, dtype=torch.float64)
        sd = m.state_dict()
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, name).copy_(torch.tensor(sd[name], dtype=torch.float64))
        return [bn]
    raise TypeError(f"to_torch: no PyTorch equivalent for {type(m).__name__}; supported: MLP, Sequential, "
                    f"Layer, Neuron, Activation, Dropout, BatchNorm, TabularModel")


def to_torch(model: Module):
    """A ``torch.nn.Sequential`` (float64) computing the same function as ``model``, weights copied.

    The torch module is in the same train/eval mode as ``model``.  Raises
    ``ImportError`` without PyTorch, ``TypeError`` for a module with no
    equivalent (e.g. your own ``Module`` subclass).
    """
    if not isinstance(model, Module):
        raise TypeError(f"to_torch: expected an nn.Module (e.g. MLP), got {type(model).__name__}")
    torch = _torch()
    seq = torch.nn.Sequential(*_convert(torch, model))
    seq.train(model.training)
    return seq


def _activation_name(torch, t):
    for name, cls in _TORCH_ACT.items():
        if type(t) is getattr(torch.nn, cls):
            return name
    if type(t) is torch.nn.Identity:
        return "linear"
    return None


def from_torch(module) -> Module:
    """A chainrule model computing the same function as a ``torch.nn.Sequential`` of ``Linear``,
    ``ReLU``/``Tanh``/``Sigmoid``/``Identity``, ``Dropout`` and ``BatchNorm1d`` (or one such layer).

    An alternation of ``Linear`` and one activation, ending in ``Linear``,
    comes back as an ``MLP``; anything else as a ``Sequential`` of layers.
    Raises ``TypeError`` naming the first layer with no chainrule equivalent.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    layers = list(module) if isinstance(module, torch.nn.Sequential) else [module]
    out: List[Module] = []
    i = 0
    while i < len(layers):
        t = layers[i]
        # exact types: a subclass may override forward(), which the weights alone do not carry
        if type(t) is torch.nn.Linear:
            if t.bias is None:
                raise TypeError(f"from_torch: layer {i} is a Linear without bias; chainrule layers always have one")
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            act = _activation_name(torch, nxt) if nxt is not None else None
            layer = Layer(t.in_features, t.out_features, act or "linear", seed=0)
            layer.load_state_dict({"weight": t.weight.detach().double().tolist(),
                                   "bias": t.bias.detach().double().tolist()})
            out.append(layer)
            i += 2 if act is not None else 1
            continue
        act = _activation_name(torch, t)
        if act is not None:
            out.append(Activation(act))
        elif type(t) is torch.nn.Dropout:
            out.append(Dropout(float(t.p)))
        elif type(t) is torch.nn.BatchNorm1d:
            if not (t.affine and t.track_running_stats):
                raise TypeError(f"from_torch: layer {i} is a BatchNorm1d without affine weights or running "
                                f"statistics; chainrule's BatchNorm has both")
            if t.momentum is None:
                raise TypeError(f"from_torch: layer {i} is a BatchNorm1d with momentum=None (a cumulative "
                                f"average); chainrule's BatchNorm takes a momentum number, such as 0.1")
            bn = BatchNorm(t.num_features, eps=float(t.eps), momentum=float(t.momentum))
            bn.load_state_dict({name: getattr(t, name).detach().double().tolist()
                                for name in ("weight", "bias", "running_mean", "running_var")})
            out.append(bn)
        else:
            raise TypeError(f"from_torch: layer {i} ({type(t).__name__}) has no chainrule equivalent; supported: "
                            f"Linear, ReLU, Tanh, Sigmoid, Identity, Dropout, BatchNorm1d")
        i += 1
    model = _as_mlp(out) or Sequential(*out)
    model.train(bool(module.training))
    return model


def _as_mlp(mods: List[Module]):
    """An MLP with the same weights when ``mods`` is exactly an MLP's layer list, else None."""
    if not mods or not all(isinstance(m, Layer) for m in mods) or mods[-1].activation != "linear":
        return None
    hidden = {m.activation for m in mods[:-1]}
    if len(hidden) > 1 or "linear" in hidden:
        return None
    mlp = MLP(mods[0].nin, [m.nout for m in mods], hidden.pop() if hidden else "relu", seed=0)
    if [m.nin for m in mlp.modules] != [m.nin for m in mods]:
        return None
    mlp.load_state_dict({f"{i}.{k}": v for i, m in enumerate(mods) for k, v in m.state_dict().items()})
    return mlp
