"""`chainrule graph EXPR --at x=2,w=-3 -o graph.svg`: draw an expression's graph with grads.

    chainrule graph "tanh(x*w + b)" --at x=2,w=-3,b=1 -o graph.svg
    chainrule graph "relu(a*b) + a" --at a=1.5 --at b=-2 --color sign --highlight a -o g.png

The expression is parsed safely (``engine.expr``: a whitelist over ``ast``,
never ``eval``), each variable becomes a labelled leaf Value, ``backward()``
runs, and ``engine.draw`` renders the graph.  The ``-o`` suffix picks the
format: .svg, .png (need Graphviz's ``dot`` or ``pip install graphviz-pure``)
or .dot (DOT source, needs nothing).

Interface used by nn/cli.py:
  add_parser(subparsers) -> argparse.ArgumentParser   registers the `graph` subcommand
  run(args) -> int                                     exit code; raises ValueError/TypeError for
                                                       bad user input (exit 2), OSError for files
                                                       and a missing renderer (exit 1)
"""
from __future__ import annotations

import argparse
import os

_EXAMPLE = 'chainrule graph "tanh(x*w + b)" --at x=2,w=-3,b=1 -o graph.svg'


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``graph`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    from engine.expr import FUNCTIONS

    p = subparsers.add_parser(
        "graph",
        help="draw the computation graph of an expression, with gradients",
        description=(
            "Evaluate EXPR at the given point, run backward, and draw its computation graph "
            "(one box per value with data and grad, one small node per op). "
            f"EXPR may use numbers, variables, + - * / ** and {', '.join(FUNCTIONS)}."),
        epilog=f"example: {_EXAMPLE}. EXPR may start with '-' (\"-x*w\"); one starting with -h or -o "
               "goes after --: chainrule graph --at x=1 -- \"-h*x\"",
    )
    p.add_argument("expr", metavar="EXPR", help='the expression, e.g. "tanh(x*w + b)" (quote it for the shell)')
    p.add_argument("--at", action="append", default=[], metavar="NAME=NUM[,NAME=NUM...]",
                   help="values of the variables, e.g. --at x=2,w=-3,b=1 (may be repeated)")
    p.add_argument("-o", "--output", default="graph.svg", metavar="PATH",
                   help="output file; the suffix picks the format: .svg, .png or .dot (default: graph.svg)")
    p.add_argument("--rankdir", choices=["LR", "TB"], default="LR",
                   help="layout direction: LR left to right (default) or TB top to bottom")
    p.add_argument("--color", choices=["none", "sign", "magnitude"], default="none",
                   help="fill boxes by the sign of grad, or by sign and |grad| (default: none)")
    p.add_argument("--top", type=int, default=None, metavar="N",
                   help="draw only N value nodes (the output is always kept)")
    p.add_argument("--top-by", choices=["grad", "depth"], default="grad",
                   help="with --top: keep the largest |grad| (default) or the nodes nearest the output")
    p.add_argument("--highlight", default=None, metavar="NAME",
                   help="draw every path from variable NAME to the output in red")
    p.add_argument("--max-inputs", type=int, default=None, metavar="N",
                   help="inputs drawn per op before the rest collapse into one '... N more' node (default 12)")
    p.set_defaults(func=run)
    return p


SUPPORTED = ".svg .png .dot"
# formats a system Graphviz can make from the .dot file we write (`dot -Tpdf g.dot -o g.pdf`)
_GRAPHVIZ_ONLY = {".pdf", ".ps", ".eps", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".svgz"}


def _check_output(output: str, formats) -> None:
    """ValueError (prefixed ``-o:``) unless the suffix of ``output`` names a format we can write."""
    if os.path.isdir(output):
        raise ValueError(f"-o: {output!r} is a folder; give a file whose suffix picks the format, e.g. "
                         f"{os.path.join(output, 'graph.svg')!r} (supported: {SUPPORTED})")
    suffix = os.path.splitext(output)[1]
    if suffix.lower() in formats:
        return
    if suffix.lower() in _GRAPHVIZ_ONLY:
        dot_name = os.path.splitext(os.path.basename(output))[0] + ".dot"
        raise ValueError(f"-o: {output!r}: {suffix} output needs a system Graphviz (`dot`); write {dot_name} "
                         f"and run `dot -T{suffix[1:].lower()} {dot_name} -o {os.path.basename(output)}` "
                         f"(supported format suffixes here: {SUPPORTED})")
    what = f"the suffix {suffix!r}" if suffix else "a name without a suffix"
    raise ValueError(f"-o: {output!r}: cannot tell the output format from {what}; "
                     f"supported format suffixes: {SUPPORTED}")


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule graph``; return 0 on success.

    Bad expressions/values raise ValueError or TypeError (the caller prints
    one line and exits 2); file problems and a missing renderer raise
    OSError (exit 1).

    >>> import argparse, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "g.dot")
    >>> run(argparse.Namespace(expr="x*y", at=["x=2,y=3"], output=out))  # doctest: +ELLIPSIS
    f = x*y = 6
    ...
    0
    """
    from engine import draw
    from engine.expr import evaluate, parse_assignments

    expr = getattr(args, "expr", None)
    if not isinstance(expr, str):
        raise TypeError(f"chainrule graph: expected an expression string, e.g. {_EXAMPLE}")
    output = getattr(args, "output", None) or "graph.svg"
    _check_output(output, draw.RENDER_FORMATS)
    at = getattr(args, "at", None)
    values = parse_assignments(at)
    out, leaves = evaluate(expr, values)
    out.backward()

    color = getattr(args, "color", "none")
    highlight = getattr(args, "highlight", None)
    if highlight is not None and highlight not in leaves:
        raise ValueError(
            f"--highlight {highlight!r}: not a variable of {expr!r}; use one of {', '.join(leaves) or '(none)'}")
    max_inputs = getattr(args, "max_inputs", None)
    top = getattr(args, "top", None)
    for flag, n in (("--top", top), ("--max-inputs", max_inputs)):
        if n is not None and n < 1:
            raise ValueError(f"{flag} {n}: expected a whole number >= 1")
    g = draw.draw_dot(
        out,
        rankdir=getattr(args, "rankdir", "LR"),
        color_by=None if color in (None, "none") else color,
        top=top,
        top_by=getattr(args, "top_by", "grad"),
        highlight=leaves[highlight] if highlight is not None else None,
        max_inputs=draw.MAX_INPUTS if max_inputs is None else max_inputs,
    )
    try:
        path = draw.render_to_file(g, output)
    except draw.RendererNotFoundError as e:
        # An environment problem, not bad input: exit 1 like other OS trouble.
        raise OSError(str(e)) from e
    except OSError as e:
        # name the file the user asked for, not the temporary file next to it (engine.fileio's
        # errors already do: not twice)
        msg = str(e.strerror or e)
        raise OSError(e.errno, msg if msg.startswith("cannot write") else f"cannot write {output}: {msg}") from e

    print(f"f = {expr} = {out.data:.6g}")
    for name, leaf in leaves.items():
        print(f"  df/d{name} = {leaf.grad:.6g}")
    print(f"wrote {path}")
    return 0
