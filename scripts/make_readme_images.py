"""Regenerate the images the README shows, into docs/.

    python scripts/make_readme_images.py            # both images
    python scripts/make_readme_images.py --only graph

* ``docs/graph.svg``: the computation graph of one neuron,
  ``tanh(x1*w1 + x2*w2 + b)``, after ``backward()``, coloured by gradient
  sign (``engine.draw_dot`` + ``engine.draw.render_to_file``; needs
  Graphviz's ``dot`` or ``pip install graphviz-pure``).
* ``docs/boundary.png``: the decision boundary of a small MLP trained on
  the moons dataset (``nn.train.fit`` + ``nn.train.plot_decision_boundary``,
  needs matplotlib).

Deterministic: fixed seeds, so re-running changes nothing unless the code did.
Uses only the installed packages' public names (``pip install -e '.[demo]'``).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def make_graph_image(out_dir: pathlib.Path = DOCS) -> pathlib.Path:
    """The README's graph picture: one neuron with two inputs, after backward()."""
    from engine import Value
    from engine.draw import draw_dot, render_to_file

    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")  # makes the output a round 0.7071 (Karpathy's example)
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    g = draw_dot(o, color_by="sign", highlight=w1)
    out_dir.mkdir(parents=True, exist_ok=True)
    return render_to_file(g, out_dir / "graph.svg")


def make_boundary_image(out_dir: pathlib.Path = DOCS, *, epochs: int = 100) -> pathlib.Path:
    """The README's decision-boundary picture: MLP(2, [16, 16, 1]), Adam lr=0.02, on 100 moons points.

    Drawn by ``nn.train.plot_decision_boundary``, the same function
    ``chainrule train`` uses for its boundary.png, so the README shows what
    users get.
    """
    import matplotlib
    matplotlib.use("Agg")  # no display needed

    from nn import MLP
    from nn.data import make_moons
    from nn.train import fit, plot_decision_boundary

    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    history = fit(model, X, y, epochs=epochs, lr=0.02, progress=False, seed=0)
    acc = history["accuracy"][-1]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "boundary.png"
    plot_decision_boundary(model, X, y, path,
                           title=f"MLP(2, [16, 16, 1]) on moons, {epochs} epochs (train accuracy {acc:.0%})")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate the README images in docs/.")
    ap.add_argument("--only", choices=["graph", "boundary"], help="make just one image")
    ap.add_argument("--out", type=pathlib.Path, default=DOCS, help="output folder (default: docs/)")
    args = ap.parse_args(argv)
    if args.only in (None, "graph"):
        print("wrote", make_graph_image(args.out))
    if args.only in (None, "boundary"):
        print("wrote", make_boundary_image(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
