"""micrograd 0.1.0 (pip install micrograd==0.1.0), used as its demo.ipynb does."""
from micrograd.engine import Value
from micrograd.nn import MLP

from .micrograd_like import build

NOTE = ""
globals().update(build(Value, MLP))
