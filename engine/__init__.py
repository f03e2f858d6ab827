"""chainrule's engine: scalar reverse-mode automatic differentiation.

>>> from engine import Value
>>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
>>> c = (a * b + 1.5).tanh() + a.exp(); c.backward()
>>> round(c.data, 4), round(a.grad, 4), round(b.grad, 4)
(6.3893, 7.3876, 0.001)
"""
from .autograd import backward, grad, topological_order
from .errors import AnomalyError, GradcheckError, OpError, UnusedInputError
from .gradcheck import gradcheck, gradgradcheck, numeric_grad
from .graph import formula
from .modes import detect_anomaly, enable_grad, fused, gc_paused, is_anomaly_enabled, is_grad_enabled, no_grad
from .ops import register_op
from .value import Value, dot, linear
from .value import sum  # noqa: A004 - engine.sum, like torch.sum; not in __all__ so `import *` keeps builtins.sum

from .render import patch_graphviz as _patch_graphviz

__version__ = "0.1.0"
_patch_graphviz()  # user-made graphviz.Digraphs render via graphviz-pure too, without importing graphviz


def __getattr__(name: str):
    # Loaded only when asked, so `import engine` stays instant: draw_dot imports
    # graphviz; the trace compiler is a module most programs never use.
    if name == "draw_dot":
        from .draw import draw_dot
        return draw_dot
    if name in ("explain", "draw_backward"):
        from . import walkthrough  # not engine/explain.py: the module would shadow the function
        return getattr(walkthrough, name)
    if name in ("compile_graph", "compile_step", "Compiled"):
        from . import trace
        return getattr(trace, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


__all__ = [
    "Value", "dot", "linear", "backward", "grad", "no_grad", "enable_grad", "is_grad_enabled", "is_anomaly_enabled", "fused",
    "detect_anomaly", "gc_paused", "gradcheck", "gradgradcheck", "numeric_grad", "register_op",
    "GradcheckError", "AnomalyError", "OpError", "UnusedInputError",
    "topological_order", "formula", "draw_dot", "explain", "draw_backward", "compile_graph", "compile_step", "Compiled",
]
