"""W5 variant (d): gpt_model.py's GPT built from nn's blocks (``nn.GPT``), with gpt_model's weights.

``Model(params)`` has the interface w5.py's timing loop uses on the
``gpt_model`` module (``loss(seq, p)``, ``flat(p)``, ``count_nodes``,
``Adam``), so variant (d) is timed by the same code as the others.  The
same math as gpt_model.loss: RMSNorm without weights (eps 1e-5) after the
embeddings and before attention and MLP, scores scaled by 1/sqrt(head_dim),
max-subtracted softmax, a ReLU MLP, residuals, no biases, mean
cross-entropy of each next token; only the layout differs (every layer is
applied to all positions at once, one fused node per output number).
"""
from __future__ import annotations

import gpt_model as G

from nn import GPT


def build(params: dict) -> GPT:
    """An ``nn.GPT`` of gpt_model's sizes holding the weights ``params`` (gpt_model.init_params())."""
    model = GPT(G.VOCAB, G.BLOCK, G.N_LAYER, G.N_HEAD, G.N_EMBD)  # defaults: gpt_model's layout
    state = {"wte.weight": params["wte"], "wpe.weight": params["wpe"], "lm_head.weight": params["lm_head"]}
    for i in range(G.N_LAYER):
        block = f"blocks.{i}."
        state[block + "self_attn.in_proj_weight"] = [row for w in ("wq", "wk", "wv")
                                                     for row in params[f"layer{i}.{w}"]]
        state[block + "self_attn.out_proj.weight"] = params[f"layer{i}.wo"]
        state[block + "linear1.weight"] = params[f"layer{i}.fc1"]
        state[block + "linear2.weight"] = params[f"layer{i}.fc2"]
    model.load_state_dict(state)
    return model


class Model:
    """gpt_model's interface over ``build(params)``; the ``p`` arguments are ignored (the model holds them)."""

    Adam = G.Adam
    count_nodes = staticmethod(G.count_nodes)

    def __init__(self, params: dict) -> None:
        self.model = build(params)

    def flat(self, p=None) -> list:
        return self.model.parameters()

    def loss(self, seq: list, p=None):
        return self.model.loss(seq[:G.BLOCK + 1])  # gpt_model.loss: at most BLOCK positions
