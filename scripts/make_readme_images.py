"""Regenerate the images the README shows, into docs/.

    python scripts/make_readme_images.py            # both images
    python scripts/make_readme_images.py --only graph

* ``docs/graph.svg``: the computation graph of one neuron,
  ``tanh(x1*w1 + x2*w2 + b)``, after ``backward()``, coloured by gradient
  sign (``engine.draw_dot`` + ``engine.draw.render_to_file``; needs
  Graphviz's ``dot`` or ``pip install graphviz-pure``).
* ``docs/boundary.png``: the decision boundary that ``chainrule train
  --dataset moons --epochs 100`` (``make demo``) draws (needs matplotlib).

Deterministic: fixed seeds, so re-running changes nothing unless the code did.
Uses only the installed packages' public names (``pip install -e '.[demo]'``).
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile

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
    """The README's decision-boundary picture: exactly what ``make demo`` draws.

    Runs ``chainrule train --dataset moons --epochs 100`` (the README's
    Training section) in a temporary folder and keeps its boundary.png, so
    the README shows what users get.
    """
    import matplotlib
    matplotlib.use("Agg")  # no display needed

    from nn.cli import main as chainrule

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "boundary.png"
    with tempfile.TemporaryDirectory() as tmp:
        code = chainrule(["train", "--dataset", "moons", "--epochs", str(epochs), "--out", tmp, "--quiet"])
        made = pathlib.Path(tmp) / "boundary.png"
        if code != 0 or not made.exists():
            raise RuntimeError(f"chainrule train exited with {code} and wrote no boundary.png; see its output above")
        shutil.copyfile(made, path)
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
