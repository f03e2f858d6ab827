"""Sequence-model building blocks: Linear, Embedding, RMSNorm, LayerNorm,
CausalSelfAttention, TransformerBlock and a tiny GPT.

Layout: a sequence is a list of ``T`` rows (positions), each a list of ``C``
Values (PyTorch's unbatched ``(T, C)``).  Every block takes the whole
sequence at once, so a weight matrix is applied to all positions in one
``engine.linear`` call (one fused ``dot`` node per output number, each
weight row read once per sequence), as PyTorch batches positions.  Norms
and ``Linear`` also take a single row (a list of Values or numbers).

>>> from nn.sequence import GPT
>>> model = GPT(vocab_size=27, block_size=16, n_layer=1, n_head=4, n_embd=16, seed=0)
>>> logits = model([0, 5, 13, 13, 1])          # token ids -> one row of 27 logits per position
>>> len(logits), len(logits[0])
(5, 27)
>>> loss = model.loss([0, 5, 13, 13, 1, 0])    # mean cross-entropy of each next token
>>> loss.backward()

Parameter names follow PyTorch (``weight``, ``bias``, ``in_proj_weight``,
``out_proj.weight``, ...), so ``state_dict()`` keys read like a PyTorch
model's and ``load_state_dict`` takes PyTorch's layouts (nested lists).
"""
from __future__ import annotations

import math
import numbers
import random
from typing import List, Optional, Sequence, Union

from engine import Value, dot, linear, no_grad
from engine import sum as vsum

from .checks import as_rng as _as_rng
from .checks import integer, real, short
from .layers import MODULE_TYPES
from .losses import cross_entropy
from .module import Module

Number = Union[int, float]
Rows = List[List[Value]]
RowsIn = Sequence[Sequence[Union[Value, Number]]]  # a sequence: T rows of Values/numbers
RowOrRows = Union[Sequence[Union[Value, Number]], RowsIn]

__all__ = ["Linear", "Embedding", "RMSNorm", "LayerNorm", "CausalSelfAttention", "TransformerBlock", "GPT"]

NORMS = ("rmsnorm", "layernorm")


# ---------------------------------------------------------------------------
# argument checks (the same wording as the rest of nn)

def _integer(value, name: str, where: str, minimum: int = 1) -> int:
    return integer(value, name, where, minimum=minimum)


def _real(value, name: str, where: str, minimum: float = 0.0) -> float:
    return real(value, name, where, minimum=minimum)


def _flag(value, name: str, where: str) -> bool:
    if type(value) is not bool:
        raise TypeError(f"{where}: {name} must be True or False, got {type(value).__name__} {value!r}"[:200])
    return value


def _entry(v, where: str):
    """A Value stays; a real number becomes a float; anything else is a TypeError naming ``where``."""
    if isinstance(v, Value):
        return v
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        try:
            return float(v)
        except OverflowError:
            raise ValueError(f"{where} is an int too large for a float") from None
    raise TypeError(f"{where} must be a Value or a number, got {type(v).__name__} {v!r}"[:200])


def _as_rows(x, width: int, where: str, *, allow_row: bool = True):
    """``(rows, one_row)``: ``x`` as a list of rows of ``width`` entries each.

    ``x`` is a sequence (a list of rows) or, if ``allow_row``, one row
    (a list of Values/numbers), which comes back as ``[row]`` with
    ``one_row`` True.  Entries are checked: Values, or numbers (as floats).
    """
    if isinstance(x, (Value, str, bytes, dict)) or not hasattr(x, "__iter__"):
        kind = "a list of rows (a sequence)" + (" or one row" if allow_row else "")
        raise TypeError(f"{where}: expected {kind} of {width} Values/numbers each, got {type(x).__name__}")
    items = list(x)
    if not items:
        raise ValueError(f"{where}: got an empty sequence; give at least one position")
    one_row = not isinstance(items[0], (list, tuple))
    if one_row and not allow_row:
        raise TypeError(f"{where}: expected a sequence (a list of T rows of {width} Values each), got one flat "
                        f"row; for a single position write [row]")
    rows = []
    for t, row in enumerate([items] if one_row else items):
        if not isinstance(row, (list, tuple)):
            raise TypeError(f"{where}: row {t} must be a list of {width} Values/numbers like row 0, "
                            f"got {type(row).__name__}")
        if len(row) != width:
            at = "the input" if one_row else f"row {t}"
            raise ValueError(f"{where}: {at} has {len(row)} entries, expected {width} (the layer's input width)")
        rows.append([v if type(v) is Value else _entry(v, f"{where}: entry [{t}][{j}]")
                     for j, v in enumerate(row)])
    return rows, one_row


def _normal(rng: random.Random, std: float, rows: int, cols: int) -> Rows:
    return [[Value(rng.gauss(0.0, std)) for _ in range(cols)] for _ in range(rows)]


def _uniform(rng: random.Random, bound: float, rows: int, cols: int) -> Rows:
    return [[Value(rng.uniform(-bound, bound)) for _ in range(cols)] for _ in range(rows)]


# ---------------------------------------------------------------------------

class Linear(Module):
    """``y = x W^T + b`` (PyTorch's ``nn.Linear``): ``weight`` is (out_features, in_features).

    One fused ``dot`` node per output number, built with ``engine.linear``.
    Initialised as PyTorch does: weight and bias U(-k, k), k = 1/sqrt(in_features).
    Takes one row (a list of ``in_features`` Values/numbers; returns a list)
    or a sequence of rows (returns a list of rows).

    >>> from nn.sequence import Linear
    >>> layer = Linear(3, 2, seed=0)
    >>> len(layer([1.0, 2.0, 3.0])), len(layer([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]))
    (2, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 seed: Union[int, random.Random, None] = 0) -> None:
        super().__init__()
        self.in_features = _integer(in_features, "in_features", "Linear")
        self.out_features = _integer(out_features, "out_features", "Linear")
        rng = _as_rng(seed, "Linear")
        k = 1.0 / math.sqrt(in_features)
        self.weight = _uniform(rng, k, out_features, in_features)
        if _flag(bias, "bias", "Linear"):
            self.bias = [row[0] for row in _uniform(rng, k, out_features, 1)]
        else:
            self.bias = None

    def forward(self, x: RowOrRows) -> Union[List[Value], Rows]:
        rows, one_row = _as_rows(x, self.in_features, "Linear")
        out = linear(rows, self.weight, self.bias)
        return out[0] if one_row else out

    def config(self) -> dict:
        return {"type": "Linear", "in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None}

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table (PyTorch's ``nn.Embedding``): token id ``i`` -> row ``weight[i]``.

    ``weight`` is (num_embeddings, embedding_dim), initialised N(0, 1) as in
    PyTorch.  A lookup makes no node: the rows returned hold the weight's
    own Values (leaves), so gradients land on them directly.  Takes one id
    (returns a row) or a list of ids (returns a list of rows); ids must be
    ints in ``0..num_embeddings-1`` (negative ids are refused, not wrapped).

    >>> from nn.sequence import Embedding
    >>> emb = Embedding(10, 3, seed=0)
    >>> rows = emb([1, 4, 1]); len(rows), len(rows[0]), rows[0][0] is rows[2][0]
    (3, 3, True)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *,
                 seed: Union[int, random.Random, None] = 0) -> None:
        super().__init__()
        self.num_embeddings = _integer(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _integer(embedding_dim, "embedding_dim", "Embedding")
        self.weight = _normal(_as_rng(seed, "Embedding"), 1.0, num_embeddings, embedding_dim)

    def forward(self, ids: Union[int, Sequence[int]]) -> Union[List[Value], Rows]:
        if isinstance(ids, numbers.Integral) and not isinstance(ids, bool):
            return list(self.weight[_token_ids([ids], self.num_embeddings, "Embedding")[0]])
        w = self.weight
        return [list(w[i]) for i in _token_ids(ids, self.num_embeddings, "Embedding")]

    def config(self) -> dict:
        return {"type": "Embedding", "num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim}

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


def _token_ids(ids, vocab_size: int, where: str) -> List[int]:
    """``ids`` as a list of Python ints in ``0..vocab_size-1``, else a TypeError/ValueError naming the bad one."""
    if isinstance(ids, (str, bytes, dict, Value)) or not hasattr(ids, "__iter__"):
        raise TypeError(f"{where}: expected a list of token ids (ints), got {type(ids).__name__} {ids!r}"[:200])
    out = []
    for t, i in enumerate(ids):
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            hint = "; for a batch of sequences call the model once per sequence" if isinstance(i, (list, tuple)) \
                else ""
            raise TypeError(f"{where}: token id at position {t} must be an int, got {type(i).__name__} {i!r}"
                            f"{hint}"[:240])
        if not 0 <= i < vocab_size:
            raise ValueError(f"{where}: token id {int(i)} at position {t} is out of range; ids must be in "
                             f"0..{vocab_size - 1} (the vocabulary has {vocab_size} tokens)")
        out.append(int(i))
    if not out:
        raise ValueError(f"{where}: got an empty list of token ids; give at least one")
    return out


class RMSNorm(Module):
    """Root-mean-square norm (PyTorch's ``nn.RMSNorm``): ``y = x / sqrt(mean(x**2) + eps) * weight``.

    ``elementwise_affine=True`` (PyTorch's default) gives a learnable
    ``weight`` of ``dim`` ones; with False the norm has no parameters (as in
    microgpt-style models).  ``eps`` defaults to 1e-5 (PyTorch's default is
    None, meaning the float type's machine epsilon).  Per row:
    ``dot(x, x)`` is one node, the scale ``(ms + eps) ** -0.5`` three more,
    then one ``mul`` per entry (two with ``weight``).

    >>> from engine import Value
    >>> from nn.sequence import RMSNorm
    >>> y = RMSNorm(2, elementwise_affine=False)([Value(3.0), Value(4.0)])
    >>> [round(v.data, 4) for v in y]
    [0.8485, 1.1314]
    """

    def __init__(self, dim: int, eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        super().__init__()
        self.dim = _integer(dim, "dim", "RMSNorm")
        self.eps = _real(eps, "eps", "RMSNorm")
        self.weight = [Value(1.0) for _ in range(dim)] if _flag(elementwise_affine, "elementwise_affine",
                                                                "RMSNorm") else None

    def forward(self, x: RowOrRows) -> Union[List[Value], Rows]:
        rows, one_row = _as_rows(x, self.dim, "RMSNorm")
        out = self.rows(rows)
        return out[0] if one_row else out

    def rows(self, rows: Rows) -> Rows:
        """``forward`` for a list of rows already checked (no argument checks: the fast path blocks use)."""
        inv_n, eps, w = 1.0 / self.dim, self.eps, self.weight
        out = []
        for x in rows:
            scale = (dot(x, x) * inv_n + eps) ** -0.5
            y = [v * scale for v in x]
            out.append(y if w is None else [a * b for a, b in zip(y, w)])
        return out

    def config(self) -> dict:
        return {"type": "RMSNorm", "dim": self.dim, "eps": self.eps, "elementwise_affine": self.weight is not None}

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps:g}, elementwise_affine={self.weight is not None}"


class LayerNorm(Module):
    """Layer norm (PyTorch's ``nn.LayerNorm``): ``(x - mean) / sqrt(var + eps) * weight + bias``.

    ``var`` is the biased variance (divided by ``dim``), as PyTorch's.
    ``elementwise_affine=True`` (default) gives learnable ``weight`` (ones)
    and, with ``bias=True`` (default), ``bias`` (zeros).

    >>> from engine import Value
    >>> from nn.sequence import LayerNorm
    >>> [round(v.data, 4) for v in LayerNorm(2)([Value(1.0), Value(3.0)])]
    [-1.0, 1.0]
    """

    def __init__(self, dim: int, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True) -> None:
        super().__init__()
        self.dim = _integer(dim, "dim", "LayerNorm")
        self.eps = _real(eps, "eps", "LayerNorm")
        affine = _flag(elementwise_affine, "elementwise_affine", "LayerNorm")
        self.weight = [Value(1.0) for _ in range(dim)] if affine else None
        self.bias = [Value(0.0) for _ in range(dim)] if affine and _flag(bias, "bias", "LayerNorm") else None

    def forward(self, x: RowOrRows) -> Union[List[Value], Rows]:
        rows, one_row = _as_rows(x, self.dim, "LayerNorm")
        out = self.rows(rows)
        return out[0] if one_row else out

    def rows(self, rows: Rows) -> Rows:
        """``forward`` for a list of rows already checked."""
        inv_n, eps, w, b = 1.0 / self.dim, self.eps, self.weight, self.bias
        out = []
        for x in rows:
            mean = vsum(x) * inv_n
            d = [v - mean for v in x]
            scale = (dot(d, d) * inv_n + eps) ** -0.5
            y = [v * scale for v in d]
            if w is not None:
                # y * w + b as one dot node per entry (a mul and an add otherwise)
                y = [a * c for a, c in zip(y, w)] if b is None else [dot((a, bb), (c, 1.0))
                                                                     for a, c, bb in zip(y, w, b)]
            out.append(y)
        return out

    def config(self) -> dict:
        return {"type": "LayerNorm", "dim": self.dim, "eps": self.eps,
                "elementwise_affine": self.weight is not None, "bias": self.bias is not None}

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps:g}, elementwise_affine={self.weight is not None}"


class CausalSelfAttention(Module):
    """Multi-head causal self-attention: position ``t`` attends to positions ``0..t``.

    The same numbers as PyTorch's ``nn.MultiheadAttention(embed_dim,
    num_heads, bias=bias)`` called as ``mha(x, x, x, attn_mask=mask)`` with
    ``mask`` the upper-triangular causal mask, on one sequence ``x`` of
    shape (T, embed_dim), and the same parameters: ``in_proj_weight``
    (3*embed_dim, embed_dim; the q, k and v projections stacked in that
    order), ``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias`` (so a
    PyTorch state dict loads as nested lists).  Head ``h`` uses columns
    ``h*head_dim:(h+1)*head_dim`` of q, k and v; scores are scaled by
    ``1/sqrt(head_dim)``; softmax is stable (max subtracted).

    Nodes per sequence of length T (E = embed_dim): ``3*E*T`` projections
    and ``E*T`` scaled queries; per head and query ``t``: ``t+1`` scores
    (one ``dot`` each), ``t+1`` shifted scores and their ``exp``, one
    ``sum``, ``t+1`` probabilities and ``head_dim`` weighted sums; then
    ``E*T`` output projections.

    >>> from nn.sequence import CausalSelfAttention
    >>> attn = CausalSelfAttention(8, 2, seed=0)
    >>> out = attn([[0.1 * i + j for i in range(8)] for j in range(3)])
    >>> len(out), len(out[0])
    (3, 8)
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, *,
                 seed: Union[int, random.Random, None] = 0) -> None:
        super().__init__()
        self.embed_dim = _integer(embed_dim, "embed_dim", "CausalSelfAttention")
        self.num_heads = _integer(num_heads, "num_heads", "CausalSelfAttention")
        if embed_dim % num_heads:
            raise ValueError(f"CausalSelfAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads}); each head gets embed_dim // num_heads columns")
        self.head_dim = embed_dim // num_heads
        _flag(bias, "bias", "CausalSelfAttention")
        rng = _as_rng(seed, "CausalSelfAttention")
        # PyTorch's init: xavier_uniform_ on the stacked projections, zero biases, out_proj as nn.Linear's
        # weight with a zero bias.
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))
        self.in_proj_weight = _uniform(rng, bound, 3 * embed_dim, embed_dim)
        self.in_proj_bias = [Value(0.0) for _ in range(3 * embed_dim)] if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias, seed=rng)
        if bias:
            for b in self.out_proj.bias:
                b.data = 0.0

    def forward(self, x: RowsIn) -> Rows:
        rows, _ = _as_rows(x, self.embed_dim, "CausalSelfAttention", allow_row=False)
        return self.rows(rows)

    def rows(self, xs: Rows) -> Rows:
        """``forward`` for rows already checked (no argument checks: the path the blocks use)."""
        E, D = self.embed_dim, self.head_dim
        T = len(xs)
        qkv = linear(xs, self.in_proj_weight, self.in_proj_bias)
        scale = 1.0 / math.sqrt(D)
        qs = [[v * scale for v in row[:E]] for row in qkv]
        heads = [[] for _ in range(T)]
        for q0 in range(0, E, D):
            k0, v0 = E + q0, 2 * E + q0
            keys = [row[k0:k0 + D] for row in qkv]
            values_t = [[row[v0 + j] for row in qkv] for j in range(D)]  # row j: v[s][j] for every s
            # All T x T scores in one call (each key row read once); those above
            # the diagonal are masked: never used, so never part of the graph.
            scores = linear([q[q0:q0 + D] for q in qs], keys)
            probs = []
            for t, row in enumerate(scores):
                row = row[:t + 1]
                m = max(s.data for s in row)  # inf/nan: nan everywhere, as in PyTorch (see nn.functional)
                exps = [(s - m).exp() for s in row]
                total = vsum(exps)
                # masked positions weigh exactly 0.0, as after PyTorch's softmax of -inf
                probs.append([e / total for e in exps] + [0.0] * (T - 1 - t))
            for t, out in enumerate(linear(probs, values_t)):
                heads[t] += out
        return linear(heads, self.out_proj.weight, self.out_proj.bias)

    def config(self) -> dict:
        return {"type": "CausalSelfAttention", "embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "bias": self.in_proj_bias is not None}

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, bias={self.in_proj_bias is not None}"


class TransformerBlock(Module):
    """A pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``.

    ``mlp`` is ``linear2(relu(linear1(x)))`` with a hidden width of
    ``mlp_ratio * embed_dim``.  Names follow PyTorch's
    ``nn.TransformerEncoderLayer`` (with ``norm_first=True``): ``norm1``,
    ``self_attn``, ``norm2``, ``linear1``, ``linear2``.  ``norm`` is
    ``"rmsnorm"`` or ``"layernorm"``; ``affine`` gives the norms learnable
    weights; ``bias`` gives every projection a bias.

    >>> from nn.sequence import TransformerBlock
    >>> block = TransformerBlock(8, 2, seed=0)
    >>> len(block([[0.5] * 8, [-0.5] * 8]))
    2
    """

    def __init__(self, embed_dim: int, num_heads: int, *, mlp_ratio: int = 4, norm: str = "rmsnorm",
                 affine: bool = True, bias: bool = False, eps: float = 1e-5,
                 seed: Union[int, random.Random, None] = 0) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"TransformerBlock: unknown norm {norm!r}; choose one of {', '.join(NORMS)}")
        self.embed_dim = _integer(embed_dim, "embed_dim", "TransformerBlock")
        self.mlp_ratio = _integer(mlp_ratio, "mlp_ratio", "TransformerBlock")
        rng = _as_rng(seed, "TransformerBlock")
        self.norm1 = _make_norm(norm, embed_dim, eps, affine, bias)
        self.self_attn = CausalSelfAttention(embed_dim, num_heads, bias, seed=rng)
        self.norm2 = _make_norm(norm, embed_dim, eps, affine, bias)
        self.linear1 = Linear(embed_dim, mlp_ratio * embed_dim, bias, seed=rng)
        self.linear2 = Linear(mlp_ratio * embed_dim, embed_dim, bias, seed=rng)
        self._settings = {"norm": norm, "affine": affine, "bias": bias, "eps": eps}

    def forward(self, x: RowsIn) -> Rows:
        rows, _ = _as_rows(x, self.embed_dim, "TransformerBlock", allow_row=False)
        return self.rows(rows)

    def rows(self, xs: Rows) -> Rows:
        """``forward`` for rows already checked."""
        xs = _add(xs, self.self_attn.rows(self.norm1.rows(xs)))
        l1, l2 = self.linear1, self.linear2
        hidden = linear(self.norm2.rows(xs), l1.weight, l1.bias)
        hidden = [[v.relu() for v in row] for row in hidden]
        return _add(xs, linear(hidden, l2.weight, l2.bias))

    def config(self) -> dict:
        return {"type": "TransformerBlock", "embed_dim": self.embed_dim,
                "num_heads": self.self_attn.num_heads, "mlp_ratio": self.mlp_ratio, **self._settings}

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.self_attn.num_heads}, "
                f"mlp_ratio={self.mlp_ratio}, norm={self._settings['norm']}")


def _add(xs: Rows, ys: Rows) -> Rows:
    """The residual connection ``xs + ys``, entry by entry."""
    return [[a + b for a, b in zip(x, y)] for x, y in zip(xs, ys)]


def _make_norm(norm: str, dim: int, eps: float, affine: bool, bias: bool) -> Module:
    if norm == "rmsnorm":
        return RMSNorm(dim, eps, elementwise_affine=affine)
    return LayerNorm(dim, eps, elementwise_affine=affine, bias=bias)


class GPT(Module):
    """A tiny GPT: token + position embeddings, ``n_layer`` transformer blocks, a linear head.

    ``model(ids)`` takes one sequence of token ids (at most ``block_size``)
    and returns its logits, one row of ``vocab_size`` Values per position
    (position ``t`` predicts token ``t+1``).  ``model.loss(ids)`` is the mean
    cross-entropy of each next token of ``ids``; ``model.generate(...)``
    samples.  Every layer is applied to all positions at once.

    The defaults are a microgpt-style model (the one ``benchmarks/w5.py``
    times): RMSNorm without weights (``affine=False``), also applied right
    after the embeddings (``embedding_norm=True``), no final norm, no biases,
    a ReLU MLP of width ``4 * n_embd``, and every weight drawn from
    N(0, ``init_std``).  ``norm="layernorm", affine=True, bias=True,
    final_norm=True, embedding_norm=False`` gives a GPT-2-style layout.

    Parameter names: ``wte.weight``, ``wpe.weight``, ``blocks.0.self_attn.in_proj_weight``,
    ..., ``lm_head.weight``.

    >>> model = GPT(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=4, seed=0)
    >>> len(model([1, 2, 3]))
    3
    >>> model([1, 2, 3, 4, 0])
    Traceback (most recent call last):
    ...
    ValueError: GPT: the sequence has 5 tokens but block_size is 4; crop it to the last 4 tokens
    """

    def __init__(self, vocab_size: int, block_size: int = 16, n_layer: int = 1, n_head: int = 4,
                 n_embd: int = 16, *, mlp_ratio: int = 4, norm: str = "rmsnorm", affine: bool = False,
                 bias: bool = False, embedding_norm: bool = True, final_norm: bool = False,
                 eps: float = 1e-5, init_std: float = 0.08,
                 seed: Union[int, random.Random, None] = 0) -> None:
        super().__init__()
        where = "GPT"
        self.vocab_size = _integer(vocab_size, "vocab_size", where)
        _integer(mlp_ratio, "mlp_ratio", where)
        self.block_size = _integer(block_size, "block_size", where)
        n_layer = _integer(n_layer, "n_layer", where)
        n_head = _integer(n_head, "n_head", where)
        n_embd = _integer(n_embd, "n_embd", where)
        if norm not in NORMS:
            raise ValueError(f"GPT: unknown norm {norm!r}; choose one of {', '.join(NORMS)}")
        if n_embd % n_head:
            raise ValueError(f"GPT: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        for name, flag in (("affine", affine), ("bias", bias), ("embedding_norm", embedding_norm),
                           ("final_norm", final_norm)):
            _flag(flag, name, where)
        init_std = _real(init_std, "init_std", where)
        eps = _real(eps, "eps", where)
        rng = _as_rng(seed, where)
        self.wte = Embedding(vocab_size, n_embd, seed=rng)
        self.wpe = Embedding(block_size, n_embd, seed=rng)
        self.embedding_norm = _make_norm(norm, n_embd, eps, affine, bias) if embedding_norm else None
        self.blocks = [TransformerBlock(n_embd, n_head, mlp_ratio=mlp_ratio, norm=norm, affine=affine, bias=bias,
                                        eps=eps, seed=rng) for _ in range(n_layer)]
        self.final_norm = _make_norm(norm, n_embd, eps, affine, bias) if final_norm else None
        self.lm_head = Linear(n_embd, vocab_size, bias=False, seed=rng)
        self._init(rng, init_std)
        self._config = {"vocab_size": vocab_size, "block_size": block_size, "n_layer": n_layer, "n_head": n_head,
                        "n_embd": n_embd, "mlp_ratio": mlp_ratio, "norm": norm, "affine": affine, "bias": bias,
                        "embedding_norm": embedding_norm, "final_norm": final_norm, "eps": eps,
                        "init_std": init_std}

    def _init(self, rng: random.Random, std: float) -> None:
        """GPT-2's init: every weight matrix N(0, std), biases 0 (norm weights stay 1, their biases 0)."""
        mats = [self.wte.weight, self.wpe.weight]
        for b in self.blocks:
            mats += [b.self_attn.in_proj_weight, b.self_attn.out_proj.weight, b.linear1.weight, b.linear2.weight]
            for lin in (b.self_attn.out_proj, b.linear1, b.linear2):
                for v in lin.bias or ():
                    v.data = 0.0
        mats.append(self.lm_head.weight)
        for m in mats:
            for row in m:
                for v in row:
                    v.data = rng.gauss(0.0, std)

    def forward(self, ids: Sequence[int]) -> Rows:
        ids = _token_ids(ids, self.vocab_size, "GPT")
        T = len(ids)
        if T > self.block_size:
            raise ValueError(f"GPT: the sequence has {T} tokens but block_size is {self.block_size}; crop it "
                             f"to the last {self.block_size} tokens")
        wte, wpe = self.wte.weight, self.wpe.weight
        xs = [[a + b for a, b in zip(wte[i], wpe[t])] for t, i in enumerate(ids)]
        if self.embedding_norm is not None:
            xs = self.embedding_norm.rows(xs)
        for block in self.blocks:
            xs = block.rows(xs)
        if self.final_norm is not None:
            xs = self.final_norm.rows(xs)
        return linear(xs, self.lm_head.weight)

    def loss(self, ids: Sequence[int], targets: Optional[Sequence[int]] = None) -> Value:
        """Mean cross-entropy of next-token prediction on one sequence.

        With ``targets`` None, ``ids`` is a whole sequence: positions
        ``0..T-2`` predict tokens ``1..T-1`` (so ``ids`` may be one token
        longer than ``block_size``).  Otherwise ``targets[t]`` is the token
        position ``t`` must predict.
        """
        if targets is None:
            ids = _token_ids(ids, self.vocab_size, "GPT.loss")
            if len(ids) < 2:
                raise ValueError("GPT.loss: a sequence needs at least 2 tokens (one input and its next token)")
            ids, targets = ids[:-1], ids[1:]
        else:
            targets = _token_ids(targets, self.vocab_size, "GPT.loss: targets")
        logits = self(ids)
        if len(targets) != len(logits):
            raise ValueError(f"GPT.loss: got {len(logits)} positions but {len(targets)} targets")
        return cross_entropy(logits, targets)

    def generate(self, ids: Sequence[int], max_new_tokens: int, *, temperature: float = 1.0,
                 top_k: Optional[int] = None, stop_token: Optional[int] = None,
                 seed: Union[int, random.Random, None] = None) -> List[int]:
        """``ids`` followed by up to ``max_new_tokens`` sampled tokens (no graph is recorded).

        Each new token is drawn from ``softmax(logits / temperature)`` of the
        last position (only the ``top_k`` most likely, if given), with the
        context cropped to the last ``block_size`` tokens.  Sampling stops
        after ``stop_token`` (e.g. a names vocabulary's boundary token).

        >>> model = GPT(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=4, seed=0)
        >>> out = model.generate([0], 6, seed=1); len(out) <= 7 and out[0] == 0
        True
        """
        ids = _token_ids(ids, self.vocab_size, "GPT.generate")
        max_new_tokens = _integer(max_new_tokens, "max_new_tokens", "GPT.generate", minimum=0)
        temperature = _real(temperature, "temperature", "GPT.generate")
        if temperature == 0.0:
            raise ValueError("GPT.generate: temperature must be > 0 (use a small value such as 0.01 for "
                             "near-greedy sampling)")
        if top_k is not None:
            top_k = _integer(top_k, "top_k", "GPT.generate")
        if stop_token is not None:
            stop_token = _token_ids([stop_token], self.vocab_size, "GPT.generate: stop_token")[0]
        rng = _as_rng(seed, "GPT.generate")
        was = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    raw = [v.data for v in self(ids[-self.block_size:])[-1]]
                    if not all(map(math.isfinite, raw)):
                        raise ValueError(f"GPT.generate: the model's logits are not finite ({short(raw)}); its "
                                         f"weights hold nan/inf (training diverged?)")
                    logits = [x / temperature for x in raw]
                    if all(map(math.isfinite, logits)):
                        ids.append(_sample(logits, top_k, rng))
                    else:  # so small a temperature overflows: its limit, the likeliest token
                        ids.append(max(range(len(raw)), key=raw.__getitem__))
                    if ids[-1] == stop_token:
                        break
        finally:
            self.train(was)
        return ids

    def config(self) -> dict:
        return {"type": "GPT", **self._config}

    def extra_repr(self) -> str:
        c = self._config
        return (f"vocab_size={c['vocab_size']}, block_size={c['block_size']}, n_layer={c['n_layer']}, "
                f"n_head={c['n_head']}, n_embd={c['n_embd']}")


def _sample(logits: List[float], top_k: Optional[int], rng: random.Random) -> int:
    """A token id drawn from softmax(logits), restricted to the ``top_k`` largest if given."""
    order = sorted(range(len(logits)), key=logits.__getitem__, reverse=True)
    if top_k is not None:
        order = order[:top_k]
    m = logits[order[0]]
    weights = [math.exp(logits[i] - m) for i in order]
    return rng.choices(order, weights=weights)[0]


# load_model/from_config know the sequence blocks by name, like the layers
MODULE_TYPES.update({c.__name__: c for c in (Linear, Embedding, RMSNorm, LayerNorm, CausalSelfAttention,
                                             TransformerBlock, GPT)})
