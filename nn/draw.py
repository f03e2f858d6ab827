"""``draw_model(model)``: a whole network at a glance, where ``draw_dot`` would show thousands of Values.

Layers are columns, neurons are dots, every weight is a line from an input
to a neuron: blue for positive, red for negative, thicker for larger
``|w|`` (relative to the largest in the model).  With ``grads=True`` a
second panel draws the weights' gradients the same way, so you can see
which connections learn and which are stuck.  Readable up to a few
thousand weights (an MLP 64-32-10 has 2,368); a column of more than
``max_neurons`` neurons shows its first and last ones around a ``...``.

Works for ``nn.MLP`` / ``nn.Sequential`` (dense layers found through
``named_parameters()``: ``'<layer>.weight[j][i]'`` and ``'<layer>.bias[j]'``)
and for ``nn.micrograd.MLP`` (``.layers[k].neurons[j].w``).  Returns a
``matplotlib.figure.Figure`` (shown inline in Jupyter; ``fig.savefig(path)``).
matplotlib is imported only here, when a picture is made.

>>> from nn import MLP
>>> fig = draw_model(MLP(3, [4, 2], seed=0))        # doctest: +SKIP
"""
from __future__ import annotations

import math
import re
from typing import List, Optional

__all__ = ["draw_model", "dense_layers"]

MAX_NEURONS = 64
_POS, _NEG, _ZERO = "#2166ac", "#b2182b", "#999999"
_NAME = re.compile(r"^(.*)\.(weight|bias)\[(\d+)\](?:\[(\d+)\])?$")


def dense_layers(model) -> List[tuple]:
    """The model's dense layers, input side first, as ``(weight rows, biases or None)``.

    ``weight rows[j][i]`` is the Value from input i to neuron j.

    >>> from nn import MLP
    >>> [(len(w), len(w[0]), len(b)) for w, b in dense_layers(MLP(3, [4, 2], seed=0))]
    [(4, 3, 4), (2, 4, 2)]
    """
    layers = getattr(model, "layers", None)
    if isinstance(layers, list) and layers and all(hasattr(layer, "neurons") for layer in layers):
        return [([n.w for n in layer.neurons], [n.b for n in layer.neurons]) for layer in layers]  # nn.micrograd
    named = getattr(model, "named_parameters", None)
    if named is None:
        raise TypeError(f"draw_model: expected an nn model (MLP, Sequential, a Module, or nn.micrograd.MLP), "
                        f"got {type(model).__name__}")
    weights, biases, order = {}, {}, []
    for name, p in named():
        m = _NAME.match(name)
        if not m or (m.group(2) == "weight" and m.group(4) is None):
            continue  # not a dense layer's weight matrix (e.g. a norm's scale)
        prefix, kind, j = m.group(1), m.group(2), int(m.group(3))
        if prefix not in order:
            order.append(prefix)
        if kind == "weight":
            weights.setdefault(prefix, {}).setdefault(j, []).append(p)
        else:
            biases.setdefault(prefix, {})[j] = p
    out = []
    for prefix in order:
        rows = weights.get(prefix)
        if rows:
            bias = biases.get(prefix)
            out.append(([rows[j] for j in sorted(rows)], [bias[j] for j in sorted(rows)] if bias else None))
    if not out:
        raise ValueError(f"draw_model: {type(model).__name__} has no dense layers to draw "
                         f"(no parameters named like '0.weight[j][i]')")
    return out


def _shown(n: int, limit: int) -> list:
    """Indices of a column's neurons to draw: all, or the first and last limit/2 around a gap."""
    if n <= limit:
        return list(range(n))
    half = limit // 2
    return list(range(half)) + list(range(n - (limit - half), n))


def _positions(n: int, idx: list) -> dict:
    """y of each drawn neuron of a column: evenly spaced, centred, one empty slot where some are left out."""
    slots = len(idx) + (1 if len(idx) < n else 0)
    pos, slot = {}, 0
    for t, i in enumerate(idx):
        if t and i != idx[t - 1] + 1:
            slot += 1
        pos[i] = 1.0 - (slot + 0.5) / slots
        slot += 1
    return pos


def _panel(ax, layers: list, value_of, what: str, limit: int) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgba

    cols = [len(layers[0][0][0])] + [len(w) for w, _ in layers]
    shown = [_shown(n, limit) for n in cols]
    ys = [_positions(n, idx) for n, idx in zip(cols, shown)]
    values = [value_of(x) for w, _ in layers for row in w for x in row]
    biggest = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    segments, colors, widths, mags = [], [], [], []
    for c, (w, _) in enumerate(layers):
        for j in shown[c + 1]:
            for i in shown[c]:
                v = value_of(w[j][i])
                m = abs(v) / biggest if biggest and math.isfinite(v) else (1.0 if not math.isfinite(v) else 0.0)
                segments.append([(c, ys[c][i]), (c + 1, ys[c + 1][j])])
                # faint and thin when small, so the few strong connections stand out among thousands
                rgb = _ZERO if v == 0 else (_POS if v > 0 else _NEG)
                colors.append(to_rgba(rgb, 0.1 + 0.8 * m * m))
                widths.append(0.15 + 2.6 * m)
                mags.append(m)
    order = sorted(range(len(segments)), key=mags.__getitem__)  # strongest drawn last, on top
    ax.add_collection(LineCollection([segments[k] for k in order], colors=[colors[k] for k in order],
                                     linewidths=[widths[k] for k in order]))
    for c, idx in enumerate(shown):
        ax.scatter([c] * len(idx), [ys[c][i] for i in idx], s=max(6.0, 160.0 / len(idx) ** 0.5),
                   c="white", edgecolors="black", linewidths=0.6, zorder=3)
        if len(idx) < cols[c]:
            ax.text(c, 0.5, "...", ha="center", va="center", fontsize=9, zorder=4)
        ax.text(c, 1.02, f"{'input' if c == 0 else f'layer {c}'}\n{cols[c]}", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.3, len(cols) - 0.7)
    ax.set_ylim(-0.02, 1.12)
    ax.axis("off")
    sym = "w" if what == "weights" else "grad"
    ax.set_title(f"{what}: blue > 0, red < 0, grey 0, width ~ |{sym}| (max {biggest:.4g})", fontsize=10, pad=18)


def draw_model(model, *, grads: bool = False, max_neurons: int = MAX_NEURONS, figsize: Optional[tuple] = None):
    """Layers as columns, neurons as dots, weights as lines coloured by sign and sized by magnitude.

    ``grads=True`` adds a panel of the weights' ``.grad`` drawn the same way.
    Returns a ``matplotlib.figure.Figure``; see the module docstring.

    >>> from nn import MLP
    >>> fig = draw_model(MLP(64, [32, 10], seed=0), grads=True)
    >>> len(fig.axes), fig.axes[1].get_title()[:9]
    (2, 'gradients')
    """
    if type(max_neurons) is not int or max_neurons < 2:
        raise ValueError(f"draw_model(max_neurons={max_neurons!r}): expected an int >= 2, e.g. {MAX_NEURONS}")
    if type(grads) is not bool:
        raise TypeError(f"draw_model(grads={grads!r}): expected True or False")
    layers = dense_layers(model)
    for k in range(1, len(layers)):
        nin, prev = len(layers[k][0][0]), len(layers[k - 1][0])
        if nin != prev:
            raise ValueError(f"draw_model: layer {k + 1} takes {nin} inputs but layer {k} has {prev} outputs; "
                             "draw_model draws plain stacks of dense layers (MLP, Sequential)")
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("draw_model needs matplotlib: pip install 'chainrule[plot]'") from e
    panels = [("weights", lambda w: w.data)] + ([("gradients", lambda w: w.grad)] if grads else [])
    width = min(8.0, 1.3 * (len(layers) + 1) + 1.0)  # inches per panel
    fig = Figure(figsize=figsize or (width * len(panels), 6.0), dpi=100)
    for k, (what, value_of) in enumerate(panels):
        _panel(fig.add_subplot(1, len(panels), k + 1), layers, value_of, what, max_neurons)
    fig.tight_layout()
    return fig
