"""chainrule's neural-network library, built on ``engine``'s public names only.

>>> from nn import MLP, SGD
>>> model = MLP(2, [16, 16, 1], seed=0)      # ReLU hidden layers, linear output
>>> opt = SGD(model.parameters(), lr=0.05)
>>> score = model([0.5, -1.0])              # a Value (one output), else a list

Submodules: ``nn.module`` (the ``Module`` base), ``nn.layers``, ``nn.init``
(weight init schemes), ``nn.checks`` (argument checks), ``nn.losses``,
``nn.optim``, ``nn.data`` (generated sets, CSV, scikit-learn's real sets),
``nn.tabular`` (``TabularModel``), ``nn.train`` (``fit``), ``nn.metrics``,
``nn.plots``, ``nn.io`` (JSON save/load), ``nn.export`` (PyTorch),
``nn.sequence`` and ``nn.functional`` (transformer blocks), ``nn.text``,
``nn.cli`` (the ``chainrule`` script).  matplotlib, tqdm, scikit-learn and
torch are imported only when a picture, a progress bar, a real data set or
an export is made.
"""
from . import data, losses, metrics, optim
from .export import from_torch, to_torch
from .io import ModelFileError, load_model, load_weights, save_model
from .layers import MLP, Activation, BatchNorm, Dropout, Layer, Neuron, Sequential, from_config
from .module import Module, StateDictError
from .optim import SGD, Adam, AdamW, CosineAnnealingLR, LinearLR, StepLR
from . import functional
from .sequence import GPT, CausalSelfAttention, Embedding, LayerNorm, Linear, RMSNorm, TransformerBlock
from .tabular import TabularModel
from .train import evaluate, fit
from .draw import draw_model  # matplotlib is imported only when a picture is made

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "Sequential", "Activation", "Dropout", "BatchNorm",
    "StateDictError", "from_config", "TabularModel",
    "SGD", "Adam", "AdamW", "StepLR", "LinearLR", "CosineAnnealingLR",
    "fit", "evaluate", "save_model", "load_model", "load_weights", "ModelFileError",
    "to_torch", "from_torch", "losses", "optim", "data", "metrics", "draw_model",
    "Linear", "Embedding", "RMSNorm", "LayerNorm", "CausalSelfAttention", "TransformerBlock", "GPT", "functional",
]
