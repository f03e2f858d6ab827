"""nn.draw_model: layers as columns, neurons as dots, weights as lines by sign and magnitude."""
from __future__ import annotations

import io
import random
import struct

import pytest

pytest.importorskip("matplotlib")

import nn  # noqa: E402
import nn.micrograd as mnn  # noqa: E402
from nn.draw import dense_layers, draw_model  # noqa: E402


def _lines(ax):
    from matplotlib.collections import LineCollection
    (lc,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    return lc


def test_mlp_64_32_10_draws_every_weight_by_sign_and_size():
    model = nn.MLP(64, [32, 10], seed=0)
    fig = draw_model(model)
    lc = _lines(fig.axes[0])
    weights = [w for rows, _ in dense_layers(model) for row in rows for w in row]
    assert len(lc.get_segments()) == len(weights) == 64 * 32 + 32 * 10
    colors = lc.get_colors()
    blue = sum(1 for c in colors if c[2] > c[0])
    assert blue == sum(1 for w in weights if w.data > 0)
    widths = sorted(lc.get_linewidths())
    assert widths[0] < 0.3 < 2.0 < widths[-1]                 # thin for small |w|, thick for the largest
    png = io.BytesIO()
    fig.savefig(png, format="png")
    w, h = struct.unpack(">II", png.getvalue()[16:24])
    assert w <= 1200 and h <= 800                             # one readable picture, not a 3,000 px graph


def test_gradient_panel_shows_where_gradients_flow():
    model = nn.MLP(3, [4, 1], seed=0)
    y = model([1.0, -2.0, 0.5])
    y.backward()
    fig = draw_model(model, grads=True)
    assert len(fig.axes) == 2 and fig.axes[1].get_title().startswith("gradients")
    lc = _lines(fig.axes[1])
    zero = sum(1 for rows, _ in dense_layers(model) for row in rows for w in row if w.grad == 0)
    grey = sum(1 for c in lc.get_colors() if abs(c[0] - c[1]) < 1e-6 and abs(c[1] - c[2]) < 1e-6)
    assert grey == zero


def test_micrograd_models_and_big_layers():
    random.seed(0)
    fig = draw_model(mnn.MLP(2, [16, 16, 1]))
    assert len(_lines(fig.axes[0]).get_segments()) == 2 * 16 + 16 * 16 + 16
    fig = draw_model(nn.MLP(200, [8], seed=0), max_neurons=20)
    assert len(_lines(fig.axes[0]).get_segments()) == 20 * 8
    assert any(t.get_text() == "..." for t in fig.axes[0].texts)
    assert any("200" in t.get_text() for t in fig.axes[0].texts)


@pytest.mark.parametrize("bad, kwargs, err, match", [
    (3, {}, TypeError, "expected an nn model"),
    (nn.MLP(2, [2], seed=0), {"max_neurons": 1}, ValueError, "max_neurons"),
    (nn.MLP(2, [2], seed=0), {"grads": "yes"}, TypeError, "grads"),
    (nn.Module(), {}, ValueError, "no dense layers"),
])
def test_bad_input(bad, kwargs, err, match):
    with pytest.raises(err, match=match):
        draw_model(bad, **kwargs)
