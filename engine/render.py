"""Finding a Graphviz renderer, with or without a system Graphviz.

The Python ``graphviz`` package (pinned 0.21) only knows how to run ``dot``.
This module finds a command that renders DOT, in this order: ``dot`` on PATH
(real Graphviz, every format), ``graphviz-pure`` on PATH (the PyPI package
``graphviz-pure``, a Rust port that writes svg/png/json but not pdf), then
``graphviz-pure`` beside ``sys.executable`` (a venv's ``bin`` even when the
venv is not activated).  With neither, ``RendererNotFoundError`` names both
fixes.  Layout (what is drawn) lives in ``engine.draw``; this module knows
nothing about Values.

``import engine`` calls ``patch_graphviz()``, so a plain ``graphviz.Digraph``
made by user code (micrograd's ``draw_dot``, say) renders through
graphviz-pure too, whether ``graphviz`` was imported before or after
``engine``.  Without importing ``engine``, the same is one line:
``import engine.render; engine.render.patch_graphviz()``.

>>> r = find_renderer()
>>> r is None or r.name in ("dot", "graphviz-pure")
True
"""
from __future__ import annotations

import os
import shutil
import sys
from typing import NamedTuple, Optional

__all__ = ["find_renderer", "use_renderer", "patch_graphviz", "write_atomic", "Renderer", "RendererNotFoundError",
           "FALLBACK", "FALLBACK_FORMATS"]

FALLBACK = "graphviz-pure"
"""The PyPI renderer used when Graphviz's ``dot`` is not on PATH."""

FALLBACK_FORMATS = frozenset({"svg", "png", "json", "dot", "gv", "plain", "plain-ext", "xdot", "jpg", "jpeg",
                              "jpe", "canon", "dot_json", "xdot_json", "json0"})
"""Output formats graphviz-pure writes (no pdf)."""

_FIX = ("install Graphviz so that the `dot` command is on PATH (https://graphviz.org/download/, "
        "e.g. `apt install graphviz` or `brew install graphviz`), or run "
        "`pip install graphviz-pure` (or `pip install 'chainrule[viz]'`) in this Python environment")
_DOT_COMMAND = "graphviz.backend.dot_command"


class RendererNotFoundError(RuntimeError):
    """Neither Graphviz's ``dot`` nor ``graphviz-pure`` could be found to render an image."""


class Renderer(NamedTuple):
    """A Graphviz command line renderer: ``name`` is ``"dot"`` or ``"graphviz-pure"``."""

    name: str
    path: str


def find_renderer() -> Optional[Renderer]:
    """The renderer images will use, or None if there is none.

    Found with ``shutil.which`` (``graphviz.version()`` cannot parse
    graphviz-pure's ``-V`` line, so it is never asked).

    >>> r = find_renderer()
    >>> r is None or os.path.isabs(r.path) or r.path
    True
    """
    dot = shutil.which("dot")
    if dot:
        return Renderer("dot", dot)
    pure = shutil.which(FALLBACK) or shutil.which(
        FALLBACK, path=os.path.dirname(os.path.abspath(sys.executable)))
    return Renderer(FALLBACK, pure) if pure else None


def use_renderer(fmt: Optional[str] = None) -> Renderer:
    """Point the ``graphviz`` package at the renderer for ``fmt`` now, or raise one clear error.

    graphviz 0.21 builds every command line as ``[dot_command.DOT_BINARY,
    '-K...', '-T...', ...]``, reading the module attribute at call time, so
    setting it is enough for ``pipe``, ``render`` and the Jupyter repr;
    graphviz-pure takes the same ``-K -T -o -O`` flags.

    >>> try:
    ...     r = use_renderer("svg")
    ... except RendererNotFoundError:
    ...     r = None
    >>> r is None or r.name in ("dot", "graphviz-pure")
    True
    """
    r = find_renderer()
    if r is None:
        raise RendererNotFoundError(
            "cannot render the graph image: that needs Graphviz's `dot` command or `graphviz-pure`, "
            f"and neither was found (looked on PATH and in {os.path.dirname(sys.executable)}). "
            f"Fix: {_FIX}. The DOT source (`.source`, `.save()`, or a .dot file) needs no renderer.")
    if fmt is not None and r.name == FALLBACK and fmt not in FALLBACK_FORMATS:
        raise ValueError(
            f"render: format {fmt!r} is not supported by graphviz-pure (the renderer in use, {r.path}); "
            f"use 'svg' or 'png', or install Graphviz's `dot` for {fmt!r}")
    import pathlib

    from graphviz.backend import dot_command
    dot_command.DOT_BINARY = pathlib.Path(r.path)
    return r


def _point_at_fallback(module) -> None:
    """Make a freshly imported ``graphviz.backend.dot_command`` run graphviz-pure when ``dot`` is missing.

    Leaves ``DOT_BINARY`` alone when the user set it, or when ``dot`` exists.
    """
    if os.fspath(getattr(module, "DOT_BINARY", "dot")) != "dot":
        return
    r = find_renderer()
    if r is not None and r.name == FALLBACK:
        import pathlib
        module.DOT_BINARY = pathlib.Path(r.path)


class _PatchingLoader:
    """Runs the real loader of ``graphviz.backend.dot_command``, then ``_point_at_fallback``."""

    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        _point_at_fallback(module)

    def __getattr__(self, name):  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self.loader, name)


class _GraphvizFinder:
    """A ``sys.meta_path`` entry that only waits for ``graphviz.backend.dot_command`` to be imported.

    Why an import hook: ``import engine`` must not import graphviz (it is
    slow and optional), yet a Digraph made by user code after ``import
    engine`` must find graphviz-pure.  The hook costs one string compare per
    import and nothing once graphviz is loaded.
    """

    def find_spec(self, name, path=None, target=None):
        if name != _DOT_COMMAND:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def patch_graphviz() -> None:
    """Let every ``graphviz.Digraph`` render without a system Graphviz (idempotent; ``import engine`` calls it).

    If ``graphviz`` is already imported, its ``DOT_BINARY`` is pointed at
    graphviz-pure now (when ``dot`` is missing); otherwise a small import
    hook does it when graphviz is imported.  Never imports graphviz itself.

    >>> patch_graphviz(); patch_graphviz()       # safe to call again
    >>> sum(isinstance(f, _GraphvizFinder) for f in sys.meta_path) <= 1
    True
    """
    module = sys.modules.get(_DOT_COMMAND)
    if module is not None:
        _point_at_fallback(module)
        return
    if not any(isinstance(f, _GraphvizFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _GraphvizFinder())


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``engine.fileio.atomic_write``: a failed render never
    leaves a half-written image; a symlink's target is updated; an existing file keeps its mode)."""
    from .fileio import atomic_write
    atomic_write(path, data)
