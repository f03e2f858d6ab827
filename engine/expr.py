"""Safe evaluation of small math expressions into a Value graph.

Used by ``chainrule graph "tanh(x*w + b)" --at x=2,w=-3,b=1``; usable from
Python too:

>>> from engine.expr import evaluate, parse_assignments
>>> out, leaves = evaluate("tanh(x*w + b)", parse_assignments("x=2,w=-3,b=1"))
>>> out.backward(); round(out.data, 4), round(leaves["x"].grad, 4)
(-0.9999, -0.0005)

The text is parsed with ``ast`` and checked against a whitelist, then
walked by our own evaluator: it is never passed to ``eval``/``exec``.
Allowed: int/float literals, variable names, ``+ - * / **``, unary ``-``/``+``,
parentheses, and calls with one argument to the engine's unary ops
(``FUNCTIONS``: abs, exp, log, relu, sigmoid, sqrt, tanh).  Everything else
(attribute access, subscripts, strings, lambdas, comprehensions, keyword
arguments, comparisons, ``//``, ``%``, ``^``, ...) raises ``ValueError``
naming the offending piece.

Size limits, checked before anything is computed: at most ``MAX_CHARS``
characters, ``MAX_DEPTH`` levels of nesting (a flat chain such as
``x + y - z + ...`` or ``a * b / c * ...`` is one level, however long),
``MAX_NODES`` syntax nodes,
literals up to ``MAX_LITERAL`` in size, and a constant exponent (one with no
variables in it, e.g. the ``9**9`` in ``9**9**9``) up to ``MAX_EXPONENT`` in
size.  All arithmetic is in floats, so nothing can build a giant integer.
"""
from __future__ import annotations

import ast
import math
import re
from typing import Dict, List, Mapping, Tuple, Union

from . import ops
from .value import Value

__all__ = ["FUNCTIONS", "parse", "variables", "evaluate", "parse_assignments",
           "MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "MAX_EXPONENT", "MAX_LITERAL"]

MAX_CHARS = 2000
MAX_DEPTH = 64
MAX_NODES = 1000
MAX_EXPONENT = 1000.0
MAX_LITERAL = 1e15

# Every unary op in the engine's table except neg (that one is spelled `-x`).
FUNCTIONS = tuple(sorted(name for name in ops.UNARY if name != "neg"))

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_BAD_BINOPS = {ast.FloorDiv: "//", ast.Mod: "%", ast.BitXor: "^ (for a power write **)",
               ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>",
               ast.MatMult: "@"}
_DESCRIBE = {
    ast.Attribute: "attribute access (a.b)", ast.Subscript: "subscripts (a[i])",
    ast.Lambda: "lambda", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "generator expressions",
    ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.IfExp: "if/else expressions",
    ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
    ast.JoinedStr: "f-strings", ast.NamedExpr: "assignment (:=)", ast.Starred: "*args",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slices",
}
_ALLOWED = ("numbers, variable names, + - * / **, parentheses, and "
            + ", ".join(f"{f}(...)" for f in FUNCTIONS))


def _fail(text: str, node: ast.AST, what: str) -> ValueError:
    col = getattr(node, "col_offset", None)
    where = f" at column {col + 1}" if col is not None else ""
    short = text if len(text) <= 60 else text[:57] + "..."
    return ValueError(f"expression {short!r}: {what}{where}; allowed: {_ALLOWED}")


def parse(text: str) -> ast.Expression:
    """Parse and validate ``text``; return its (whitelisted) syntax tree.

    Raises ``ValueError`` for anything outside the whitelist or the size
    limits, ``TypeError`` if ``text`` is not a str.

    >>> parse("x ** 2 + 1").body.op.__class__.__name__
    'Add'
    """
    if not isinstance(text, str):
        raise TypeError(f"expression: expected a str like 'tanh(x*w + b)', got {type(text).__name__}")
    if not text.strip():
        raise ValueError("expression is empty; write one like 'tanh(x*w + b)'")
    if len(text) > MAX_CHARS:
        raise ValueError(f"expression is {len(text)} characters long; the limit is {MAX_CHARS}")
    # Bound bracket nesting before the parser sees it (CPython's parser is recursive).
    depth = peak = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            peak = max(peak, depth)
        elif ch in ")]}":
            depth -= 1
    if peak > MAX_DEPTH:
        raise ValueError(f"expression nests brackets {peak} deep; the limit is {MAX_DEPTH}")
    text = text.strip()  # eval-mode parsing rejects leading indentation
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ValueError(
            f"expression {text!r} is not a valid formula ({e.msg}"
            + (f", column {e.offset}" if e.offset else "") + f"); allowed: {_ALLOWED}") from None
    except (RecursionError, MemoryError):
        raise ValueError(f"expression is nested too deeply; the limit is {MAX_DEPTH}") from None
    _check(text, tree)
    return tree


def _const_value(node: ast.AST) -> float:
    """Float value of a variable-free subtree (already whitelisted), computed in floats."""
    return _eval(node, {})


# Left-associative chains (x + y - z ..., a * b / c ...) are one level of nesting, however long.
_CHAIN = {ast.Add: 0, ast.Sub: 0, ast.Mult: 1, ast.Div: 1}


def _has_name(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id not in FUNCTIONS for n in ast.walk(node))


def _check(text: str, tree: ast.Expression) -> None:
    count = 0
    stack = [(tree.body, 1)]
    pows = []
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ValueError(f"expression has more than {MAX_NODES} parts; the limit is {MAX_NODES}")
        if depth > MAX_DEPTH:
            raise ValueError(f"expression nests more than {MAX_DEPTH} levels deep; simplify it")
        t = type(node)
        if t is ast.Constant:
            v = node.value
            if type(v) not in (int, float):
                kind = "strings" if isinstance(v, (str, bytes)) else f"{type(v).__name__} literals"
                raise _fail(text, node, f"unsupported syntax: {kind} ({v!r})")
            if abs(v) > MAX_LITERAL:  # int compare first: no float overflow on a huge int
                src = ast.get_source_segment(text, node) or repr(v)
                raise _fail(text, node, f"the number {src[:20]}{'...' if len(src) > 20 else ''} is too "
                                        f"large (limit {MAX_LITERAL:g})")
        elif t is ast.Name:
            if node.id in FUNCTIONS:
                raise _fail(text, node, f"{node.id!r} is a function; call it, e.g. {node.id}(x)")
            if not isinstance(node.ctx, ast.Load):  # pragma: no cover - mode="eval" has no stores
                raise _fail(text, node, "assignment is not allowed")
        elif t is ast.BinOp:
            if type(node.op) not in _BINOPS:
                sym = _BAD_BINOPS.get(type(node.op), type(node.op).__name__)
                raise _fail(text, node, f"operator {sym} is not supported")
            if type(node.op) is ast.Pow:
                pows.append(node)
            group = _CHAIN.get(type(node.op))
            same = type(node.left) is ast.BinOp and group is not None and _CHAIN.get(type(node.left.op)) == group
            stack.append((node.left, depth if same else depth + 1))
            stack.append((node.right, depth + 1))
        elif t is ast.UnaryOp:
            if type(node.op) not in (ast.USub, ast.UAdd):
                raise _fail(text, node, f"operator {'not' if isinstance(node.op, ast.Not) else '~'} is not supported")
            stack.append((node.operand, depth + 1))
        elif t is ast.Call:
            f = node.func
            if not isinstance(f, ast.Name):
                what = "method calls (a.b())" if isinstance(f, ast.Attribute) else "calling the result of an expression"
                raise _fail(text, node, f"unsupported syntax: {what}")
            if f.id not in FUNCTIONS:
                raise _fail(text, node, f"unknown function {f.id!r}")
            if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                raise _fail(text, node, f"{f.id}() takes exactly one argument, e.g. {f.id}(x)")
            stack.append((node.args[0], depth + 1))
        else:
            raise _fail(text, node, f"unsupported syntax: {_DESCRIBE.get(t, t.__name__)}")
    # Absurd powers: a constant exponent is known now, so reject it before computing.
    for node in pows:
        if not _has_name(node.right):
            k = _const_value(node.right)  # floats: 9.0 ** 9.0 is quick, never a huge int
            if not math.isfinite(k) or abs(k) > MAX_EXPONENT:
                src = ast.get_source_segment(text, node.right) or f"{k:g}"
                raise _fail(text, node.right, f"the exponent {src} = {k:.6g} is too large "
                                              f"(limit {MAX_EXPONENT:g} in size)")


def variables(text: str) -> List[str]:
    """The variable names in ``text``, in order of first appearance.

    >>> variables("tanh(x*w + b) + x")
    ['x', 'w', 'b']
    """
    tree = parse(text)
    seen: Dict[str, None] = {}
    # ast.walk is breadth-first; sort by source position for reading order.
    # Function names are ast.Name nodes too (the call's func); _check already
    # rejected them anywhere else, so every other Name is a variable.
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in FUNCTIONS]
    for n in sorted(names, key=lambda n: (n.lineno, n.col_offset)):
        seen.setdefault(n.id, None)
    return list(seen)


def evaluate(text: str, values: Mapping[str, Union[float, int, Value]]) -> Tuple[Value, Dict[str, Value]]:
    """Build the Value graph of ``text``; return ``(output, {name: leaf Value})``.

    Each variable becomes ONE leaf ``Value`` labelled with its name (reused
    everywhere it appears); numbers stay plain floats (so ``x * 2`` is one
    node).  ``values`` must give every variable and nothing else.  A Value
    in ``values`` is used as-is.

    >>> out, leaves = evaluate("x**2 + 1", {"x": 3})
    >>> out.data, leaves["x"].label
    (10.0, 'x')
    """
    tree = parse(text)
    names = variables(text)
    if not isinstance(values, Mapping):
        raise TypeError(f"evaluate: values must be a mapping name -> number, got {type(values).__name__}")
    missing = [n for n in names if n not in values]
    if missing:
        example = ",".join(f"{n}=1" for n in names)
        raise ValueError(
            f"expression {text!r} needs a value for {', '.join(missing)}; "
            f"give every variable, e.g. --at {example}")
    extra = [n for n in values if n not in names]
    if extra:
        raise ValueError(
            f"values given for {', '.join(sorted(extra))}, which the expression {text!r} does not use "
            f"(it uses: {', '.join(names) or 'no variables'}); remove them or fix the spelling")
    leaves = {n: values[n] if isinstance(values[n], Value) else Value(values[n], label=n) for n in names}
    out = _eval(tree.body, leaves)
    if not isinstance(out, Value):  # no variables at all: still give back a (leaf) Value
        out = Value(out)
    return out, leaves


def _eval(root: ast.AST, leaves: Dict[str, Value]):
    """Value (or float, for a constant subtree) of a whitelisted tree, in one iterative post-order pass
    (a flat chain of 1,000 terms is 1,000 levels deep as a tree: no recursion)."""
    results: list = []
    stack = [(root, False)]
    while stack:
        node, ready = stack.pop()
        t = type(node)
        if t is ast.Constant:
            results.append(float(node.value))
        elif t is ast.Name:
            results.append(leaves[node.id])
        elif not ready:  # visit the operands first, then come back to combine them
            stack.append((node, True))
            kids = {ast.UnaryOp: lambda n: [n.operand], ast.BinOp: lambda n: [n.right, n.left],
                    ast.Call: lambda n: [n.args[0]]}[t](node)
            stack.extend((k, False) for k in kids)
        elif t is ast.UnaryOp:
            v = results.pop()
            results.append(-v if isinstance(node.op, ast.USub) else v)
        elif t is ast.BinOp:
            b = results.pop()
            a = results.pop()
            results.append(_binary(type(node.op), a, b))
        else:  # ast.Call
            arg = results.pop()
            if not isinstance(arg, Value):
                results.append(ops.FORWARD[node.func.id](arg))
            else:
                results.append(getattr(arg, _METHOD.get(node.func.id, node.func.id))())
    return results[0]


def _binary(op: type, a, b):
    if not isinstance(a, Value) and not isinstance(b, Value):
        # both constant: float math with the engine's IEEE rules (1/0 = inf, not an exception)
        name = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}[op]
        return ops.FORWARD[name](a, b)
    if op is ast.Add:
        return a + b
    if op is ast.Sub:
        return a - b
    if op is ast.Mult:
        return a * b
    if op is ast.Div:
        return a / b
    return a ** b


_METHOD = {"abs": "__abs__"}
_ASSIGN = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*=\s*(.*?)\s*$")


def parse_assignments(spec: Union[str, List[str], None]) -> Dict[str, float]:
    """Parse ``"x=2,w=-3,b=1"`` (or a list of such strings) into ``{name: float}``.

    Raises ``ValueError`` naming the bad piece: a missing ``=``, a bad name,
    a value that is not a finite number, or a name given twice.

    >>> parse_assignments("x=2, w=-3.5,b=1e-3")
    {'x': 2.0, 'w': -3.5, 'b': 0.001}
    """
    if spec is None:
        return {}
    parts: List[str] = []
    for chunk in ([spec] if isinstance(spec, str) else list(spec)):
        if not isinstance(chunk, str):
            raise TypeError(f"--at: expected text like 'x=2,w=-3', got {type(chunk).__name__}")
        parts.extend(p for p in chunk.split(",") if p.strip())
    out: Dict[str, float] = {}
    for part in parts:
        m = _ASSIGN.match(part)
        if m is None:
            raise ValueError(f"--at: {part.strip()!r} is not NAME=NUMBER; write e.g. --at x=2,w=-3")
        name, raw = m.groups()
        if name in FUNCTIONS:
            raise ValueError(f"--at: {name!r} is a function name, not a variable; rename the variable")
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"--at: the value of {name} is {raw!r}, which is not a number; write e.g. {name}=2.5") from None
        if not math.isfinite(value):
            raise ValueError(f"--at: the value of {name} is {raw!r}; give a finite number")
        if name in out:
            raise ValueError(f"--at: {name} is given twice; give each variable once")
        out[name] = value
    return out
