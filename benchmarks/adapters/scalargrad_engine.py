"""scalargrad (a PyPI fork of micrograd with the same API: Scalar, MLP(nin, sizes)).

Installed by `make bench` (the `bench` extra); `python benchmarks/run.py
--install-scalargrad` puts it in benchmarks/_work/site (git-ignored) instead.
"""
import os
import sys

_SITE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_work", "site")
if os.path.isdir(_SITE) and _SITE not in sys.path:
    sys.path.append(_SITE)

from scalargrad import MLP, Scalar  # noqa: E402

from .micrograd_like import build  # noqa: E402

NOTE = ""
globals().update(build(Scalar, MLP))
