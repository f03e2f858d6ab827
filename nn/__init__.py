"""chainrule's neural-network library, built on ``engine``'s public names only.

>>> from nn import MLP, SGD
>>> model = MLP(2, [16, 16, 1], seed=0)
>>> opt = SGD(model.parameters(), lr=0.05)
"""
from .module import (
    MLP, Activation, BatchNorm, Dropout, Layer, Module, Neuron, Sequential, StateDictError, from_config,
)

__all__ = ["Module", "Neuron", "Layer", "MLP", "Sequential", "Activation", "Dropout", "BatchNorm",
           "StateDictError", "from_config"]
