"""What the ``chainrule`` subcommands share: argument types (a bad value is argparse's one-line error,
exit 2), the runtime-failure exception (exit 1), and small output helpers.

>>> int_at_least(1)("3")
3
>>> layer_widths("16,16")
[16, 16]
"""
from __future__ import annotations

import argparse
import math
import sys
from typing import List, Optional

PROG = "chainrule"
# Upper bounds that turn a typo (an extra digit or ten) into a usage error instead of a run that never ends.
MAX_SAMPLES = 1_000_000
MAX_EPOCHS = 1_000_000
MAX_WIDTH = 10_000


class Failure(Exception):
    """A runtime failure (unwritable folder, diverged training, ...): one line on stderr, exit 1."""


def int_at_least(minimum: int, maximum: Optional[int] = None):
    """An argparse type: an int in ``[minimum, maximum]``."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {v}")
        if maximum is not None and v > maximum:
            raise argparse.ArgumentTypeError(f"expected an integer <= {maximum:,}, got {text[:30]}")
        return v
    parse.__name__ = f"int>={minimum}"
    return parse


def float_range(low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = False):
    """An argparse type: a finite float within the bounds."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        ok = math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
        if not ok:
            lo = f"{'>' if low_open else '>='} {low:g}"
            hi = "" if high == math.inf else f" and {'<' if high_open else '<='} {high:g}"
            raise argparse.ArgumentTypeError(f"expected a finite number {lo}{hi}, got {text!r}")
        return v
    parse.__name__ = "number"
    return parse


def layer_widths(text: str) -> List[int]:
    """An argparse type: comma-separated hidden layer widths like ``16,16``."""
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths like 16,16, got {text!r}") from None
    if not sizes or any(s < 1 or s > MAX_WIDTH for s in sizes):
        raise argparse.ArgumentTypeError(f"expected one or more layer widths >= 1 like 16,16 "
                                         f"(at most {MAX_WIDTH:,} each), got {text!r}")
    return sizes


def column_names(text: str) -> List[str]:
    """An argparse type: comma-separated CSV column names like ``a,b,c``."""
    names = [p.strip() for p in text.split(",")]
    if not names or any(not n for n in names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names like age,height, got {text!r}")
    return names


def json_number(x):
    """``x`` (a float or a list of them) with nan/inf as None, so ``json.dumps`` writes valid JSON."""
    if isinstance(x, list):
        return [json_number(v) for v in x]
    return x if math.isfinite(x) else None


def warn(command: str, text: str) -> None:
    print(f"{PROG} {command}: warning: {text}", file=sys.stderr, flush=True)


def note(command: str, text: str) -> None:
    print(f"{PROG} {command}: note: {text}", file=sys.stderr, flush=True)


def graph_svg(model, samples, path: str) -> None:
    """Draw one sample's forward pass through the model's first neuron, with its gradients.

    One neuron keeps the picture readable (the full 2-16-16-1 graph has
    hundreds of nodes): inputs x0, x1, weights w0, w1, bias b, the fused
    dot node, the activation.  The sample is the first one that the neuron
    is active on, so the gradients shown are not all zero.
    """
    from engine import Value, dot
    from engine.draw import draw_dot, render_to_file

    neuron = model.modules[0].neurons[0]
    wb = [p.data for p in neuron.w] + [neuron.b.data]
    sample = next((x for x in samples if sum(w * v for w, v in zip(wb, list(x) + [1.0])) > 0), samples[0])
    xs = [Value(float(v), label=f"x{i}") for i, v in enumerate(sample)]
    ws = [Value(w.data, label=f"w{i}") for i, w in enumerate(neuron.w)]
    b = Value(neuron.b.data, label="b")
    pre = dot(ws + [b], xs + [1.0])
    pre.label = "w.x + b"
    act = neuron.activation
    out = getattr(pre, act)() if act != "linear" else pre
    out.label = f"{act}(w.x + b)" if act != "linear" else out.label
    out.backward()
    render_to_file(draw_dot(out), path)
