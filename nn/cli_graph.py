"""`chainrule graph EXPR --at x=2,w=-3 -o graph.svg` (placeholder; the drawing work fills it in).

Interface used by nn/cli.py:
  add_parser(subparsers) -> argparse.ArgumentParser   registers the `graph` subcommand
  run(args) -> int                                     exit code; raises ValueError/TypeError for
                                                       bad user input (exit 2), OSError for files (exit 1)
"""
from __future__ import annotations


def add_parser(subparsers):
    p = subparsers.add_parser("graph", help="draw the computation graph of an expression (not yet available)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    raise RuntimeError("chainrule graph: not implemented yet")
