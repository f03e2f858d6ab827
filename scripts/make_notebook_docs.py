"""Execute every notebook in notebooks/ and write an HTML copy with its outputs to docs/notebooks/.

    python scripts/make_notebook_docs.py                 # all notebooks
    python scripts/make_notebook_docs.py 04_what_goes_wrong.ipynb

The notebooks themselves stay committed without outputs (diffs stay
readable; nbmake runs them in `make test`); these copies let anyone read
them, pictures included, without running anything (GitHub shows the
committed notebooks empty).  Each notebook runs in a fresh kernel from the
notebooks/ folder, as `make notebook` opens them; the pictures are embedded
in the HTML, so each file stands alone.  Also writes docs/notebooks/NN.png
(or .svg), the first picture of each notebook, for the README's "Learn" table.
Needs the `notebook` extra (`pip install -e '.[notebook]'`: nbconvert).
Deterministic inputs (fixed seeds); timings printed by the notebooks vary.
"""
from __future__ import annotations

import argparse
import base64
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "docs" / "notebooks"


def first_picture(nb) -> tuple:
    """(suffix, bytes) of the first picture among the executed notebook's outputs, or (None, None)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                return ".png", base64.b64decode(data["image/png"])
            if "image/svg+xml" in data:
                return ".svg", data["image/svg+xml"].encode("utf-8")
    return None, None


def build(path: pathlib.Path, out_dir: pathlib.Path = OUT, timeout: int = 600) -> pathlib.Path:
    """Run ``path`` in a fresh kernel and write ``out_dir/<name>.html`` (+ ``.png``); return the HTML path."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import ExecutePreprocessor

    nb = nbformat.read(path, as_version=4)
    ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(path.parent)}})
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.html"
    target.write_text(html, encoding="utf-8")
    suffix, picture = first_picture(nb)
    if picture is not None:
        (out_dir / f"{path.stem}{suffix}").write_bytes(picture)
    return target


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebook file names (default: all in notebooks/)")
    args = ap.parse_args(argv)
    paths = [NOTEBOOKS / n for n in args.names] if args.names else sorted(NOTEBOOKS.glob("*.ipynb"))
    for p in paths:
        if not p.is_file():
            print(f"make_notebook_docs: no notebook {p}", file=sys.stderr)
            return 2
        print(f"{p.name} -> {build(p).relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
