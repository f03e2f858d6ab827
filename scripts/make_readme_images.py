"""Regenerate the images the README shows, into docs/.

    python scripts/make_readme_images.py            # both images
    python scripts/make_readme_images.py --only graph

* ``docs/graph.svg``: the computation graph of one neuron,
  ``tanh(x1*w1 + x2*w2 + b)``, after ``backward()``, coloured by gradient
  sign (``engine.draw_dot`` + ``engine.draw.render_to_file``; needs
  Graphviz's ``dot`` or ``pip install graphviz-pure``).
* ``docs/boundary.png``: the decision boundary of a small MLP trained on
  the moons dataset (``nn`` + matplotlib).

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
    """The README's decision-boundary picture: MLP(2, [16, 16, 1]), Adam lr=0.02, on 100 moons points."""
    import matplotlib
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    from nn import MLP
    from nn.data import make_moons
    from nn.train import fit

    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    history = fit(model, X, y, epochs=epochs, lr=0.02, progress=False, seed=0)  # Adam

    # Score a grid; sign of the score is the predicted class.
    xs = [p[0] for p in X]
    ys = [p[1] for p in X]
    x0, x1 = min(xs) - 0.5, max(xs) + 0.5
    y0, y1 = min(ys) - 0.5, max(ys) + 0.5
    steps = 60
    gx = [x0 + (x1 - x0) * i / (steps - 1) for i in range(steps)]
    gy = [y0 + (y1 - y0) * j / (steps - 1) for j in range(steps)]
    scores = model.predict([[a, c] for c in gy for a in gx])
    # Clip the raw scores: contouring them (not their sign) gives a smooth boundary at 0.
    grid = [[max(-3.0, min(3.0, scores[j * steps + i])) for i in range(steps)] for j in range(steps)]

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.contourf(gx, gy, grid, levels=[-3.01, 0.0, 3.01], colors=["#fbb4ae", "#b3cde3"], alpha=0.8)
    ax.contour(gx, gy, grid, levels=[0.0], colors="k", linewidths=0.8)
    ax.scatter(xs, ys, c=["#e41a1c" if t == 0 else "#377eb8" for t in y], s=18, edgecolors="k", linewidths=0.4)
    acc = history["accuracy"][-1] if history.get("accuracy") else float("nan")
    ax.set_title(f"MLP(2, [16, 16, 1]) on moons, {epochs} epochs (train acc {acc:.0%})", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "boundary.png"
    # Fixed metadata so re-running does not change the file's bytes.
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
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
