"""chainrule's neural-network library, built on ``engine``'s public names only.

>>> from nn import MLP, SGD
>>> model = MLP(2, [16, 16, 1], seed=0)      # ReLU hidden layers, linear output
>>> opt = SGD(model.parameters(), lr=0.05)
>>> score = model([0.5, -1.0])              # a Value (one output), else a list

Submodules: ``nn.module`` (layers), ``nn.losses``, ``nn.optim``, ``nn.data``
(toy datasets), ``nn.train`` (``fit``, plots), ``nn.io`` (JSON save/load),
``nn.cli`` (the ``chainrule`` script).  matplotlib and tqdm are imported
only when a picture or a progress bar is made.
"""
from . import data, losses, optim
from .io import ModelFileError, load_model, load_weights, save_model
from .module import (
    MLP, Activation, BatchNorm, Dropout, Layer, Module, Neuron, Sequential, StateDictError, from_config,
)
from .optim import SGD, Adam, AdamW, CosineAnnealingLR, LinearLR, StepLR
from . import functional
from .sequence import GPT, CausalSelfAttention, Embedding, LayerNorm, Linear, RMSNorm, TransformerBlock
from .train import evaluate, fit
from .draw import draw_model  # matplotlib is imported only when a picture is made

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "Sequential", "Activation", "Dropout", "BatchNorm",
    "StateDictError", "from_config",
    "SGD", "Adam", "AdamW", "StepLR", "LinearLR", "CosineAnnealingLR",
    "fit", "evaluate", "save_model", "load_model", "load_weights", "ModelFileError",
    "losses", "optim", "data", "draw_model",
    "Linear", "Embedding", "RMSNorm", "LayerNorm", "CausalSelfAttention", "TransformerBlock", "GPT", "functional",
]
