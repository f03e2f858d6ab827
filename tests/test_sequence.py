"""nn.sequence and nn.functional: each block against its torch.nn twin (float64, values and gradients),
against finite differences (engine.gradcheck), the tiny GPT learning names, and bad input."""
import math
import random

import pytest

from engine import Value, gradcheck
from nn import GPT, Adam, CausalSelfAttention, Embedding, LayerNorm, Linear, RMSNorm, TransformerBlock
from nn.functional import cross_entropy, log_softmax, logsumexp, softmax
from nn.text import CharVocab, make_names

TOL = 1e-12


@pytest.fixture(scope="module")
def torch():
    t = pytest.importorskip("torch")
    t.set_num_threads(1)
    return t


def rand_rows(rng, t, c, scale=1.0):
    return [[rng.gauss(0.0, scale) for _ in range(c)] for _ in range(t)]


def values(rows):
    return [[Value(x) for x in row] for row in rows]


def weighted_sum(rows, coef):
    """sum(coef * out): a scalar whose gradient reaches every output with a different weight."""
    total = Value(0.0)
    for row, crow in zip(rows, coef):
        for v, c in zip(row, crow):
            total = total + v * c
    return total


def grads(rows):
    return [[v.grad for v in row] for row in rows]


def close(a, b, tol=TOL):
    """Nested lists of floats equal within tol (relative to max(1, |b|))."""
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y, tol)
        return
    assert abs(a - b) <= tol * max(1.0, abs(b)), (a, b)


def state_from_torch(module):
    return {k: v.detach().tolist() for k, v in module.state_dict().items()}


def set_params(torch_module, rng, scale=0.5):
    """Random float64 values for every torch parameter (so weights are not ones/zeros)."""
    import torch as t
    with t.no_grad():
        for p in torch_module.parameters():
            p.copy_(t.tensor([rng.gauss(0.0, scale) for _ in range(p.numel())], dtype=t.float64).view(p.shape))


def at_index(nested, name):
    """``nested`` indexed by the ``[i][j]`` suffix of a parameter name such as ``weight[2][0]``."""
    for i in name.partition("[")[2].rstrip("]").split("]["):
        if i:
            nested = nested[int(i)]
    return nested


def compare_with_torch(torch, ours, ref, xs, rng, call=None):
    """Load ref's weights into ours, run both on rows ``xs``, backpropagate the same weighted sum of
    the outputs; outputs, input gradients and every parameter's gradient must agree to TOL."""
    state = state_from_torch(ref)
    assert set(state) == set(ours.state_dict())  # PyTorch's parameter names
    ours.load_state_dict(state)
    x = values(xs)
    out = ours(x)
    coef = rand_rows(rng, len(out), len(out[0]))
    weighted_sum(out, coef).backward()
    tx = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    tout = call(tx) if call else ref(tx)
    (tout * torch.tensor(coef, dtype=torch.float64)).sum().backward()
    close([[v.data for v in r] for r in out], tout.tolist())
    close(grads(x), tx.grad.tolist())
    tgrads = {k: p.grad.tolist() for k, p in ref.named_parameters()}
    for name, p in ours.named_parameters():
        close(p.grad, at_index(tgrads[name.partition("[")[0]], name))
    return out, tout


# -- against torch.nn -------------------------------------------------------------------

def test_linear_matches_torch(torch):
    rng = random.Random(0)
    xs = rand_rows(rng, 4, 5)
    ours = Linear(5, 3)
    _, tout = compare_with_torch(torch, ours, torch.nn.Linear(5, 3, dtype=torch.float64), xs, rng)
    close([v.data for v in ours(xs[0])], tout[0].tolist())  # one row in, one row out


def test_embedding_matches_torch(torch):
    rng = random.Random(1)
    ref = torch.nn.Embedding(7, 3, dtype=torch.float64)
    ours = Embedding(7, 3)
    ours.load_state_dict(state_from_torch(ref))
    ids = [3, 0, 6, 3]
    coef = rand_rows(rng, 4, 3)
    out = ours(ids)
    weighted_sum(out, coef).backward()
    tout = ref(torch.tensor(ids))
    (tout * torch.tensor(coef, dtype=torch.float64)).sum().backward()
    close([[v.data for v in r] for r in out], tout.tolist())
    close([[w.grad for w in r] for r in ours.weight], ref.weight.grad.tolist())  # row 3 gets both positions
    assert [v.data for v in ours(6)] == tout[2].tolist()


@pytest.mark.parametrize("affine", [True, False])
def test_rmsnorm_matches_torch(torch, affine):
    rng = random.Random(2)
    ref = torch.nn.RMSNorm(6, eps=1e-5, elementwise_affine=affine, dtype=torch.float64)
    set_params(ref, rng)
    ours = RMSNorm(6, eps=1e-5, elementwise_affine=affine)
    compare_with_torch(torch, ours, ref, rand_rows(rng, 3, 6, 2.0), rng)
    assert len(ours.parameters()) == (6 if affine else 0)


@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layernorm_matches_torch(torch, affine, bias):
    rng = random.Random(3)
    ref = torch.nn.LayerNorm(5, eps=1e-5, elementwise_affine=affine, bias=bias, dtype=torch.float64)
    set_params(ref, rng)
    ours = LayerNorm(5, eps=1e-5, elementwise_affine=affine, bias=bias)
    compare_with_torch(torch, ours, ref, rand_rows(rng, 4, 5, 3.0), rng)


def causal_mask(torch, t):
    return torch.triu(torch.ones(t, t, dtype=torch.bool), 1)  # True = not allowed to attend


@pytest.mark.parametrize("heads,bias,t", [(1, True, 1), (2, True, 5), (4, False, 6), (3, True, 4)])
def test_attention_matches_torch_multihead_attention_with_causal_mask(torch, heads, bias, t):
    rng = random.Random(heads * 10 + t)
    ref = torch.nn.MultiheadAttention(12, heads, bias=bias, batch_first=True, dtype=torch.float64)
    set_params(ref, rng)
    mask = causal_mask(torch, t)
    compare_with_torch(torch, CausalSelfAttention(12, heads, bias=bias), ref, rand_rows(rng, t, 12), rng,
                       lambda x: ref(x, x, x, attn_mask=mask, need_weights=False)[0])


def test_attention_is_causal():
    """Changing a later position never changes an earlier output."""
    attn = CausalSelfAttention(4, 2, seed=0)
    xs = rand_rows(random.Random(0), 4, 4)
    before = [[v.data for v in r] for r in attn(xs)]
    xs[3] = [10.0, -10.0, 3.0, 0.5]
    after = [[v.data for v in r] for r in attn(xs)]
    assert after[:3] == before[:3]
    assert after[3] != before[3]


@pytest.mark.parametrize("bias", [True, False])
def test_transformer_block_matches_torch_encoder_layer(torch, bias):
    rng = random.Random(7)
    e, heads, t = 8, 2, 5
    ref = torch.nn.TransformerEncoderLayer(e, heads, dim_feedforward=4 * e, dropout=0.0, activation="relu",
                                           batch_first=True, norm_first=True, bias=bias, dtype=torch.float64)
    set_params(ref, rng, 0.3)
    mask = causal_mask(torch, t)
    compare_with_torch(torch, TransformerBlock(e, heads, norm="layernorm", affine=True, bias=bias), ref,
                       rand_rows(rng, t, e), rng, lambda x: ref(x, src_mask=mask))


def test_softmax_log_softmax_logsumexp_match_torch(torch):
    rows = [[1.0, -2.0, 0.5], [1000.0, 999.0, -1000.0], [3.0]]
    for row in rows:
        x = [Value(v) for x in [row] for v in x]
        tx = torch.tensor(row, dtype=torch.float64, requires_grad=True)
        coef = [0.3 * (i + 1) for i in range(len(row))]
        for ours, theirs in ((softmax, torch.softmax), (log_softmax, torch.log_softmax)):
            for v in x:
                v.grad = 0.0
            tx.grad = None
            out = ours(x)
            weighted_sum([out], [coef]).backward()
            tout = theirs(tx, -1)
            (tout * torch.tensor(coef, dtype=torch.float64)).sum().backward()
            close([v.data for v in out], tout.tolist())
            close([v.grad for v in x], tx.grad.tolist())
        close(logsumexp(x).data, torch.logsumexp(tx, -1).item())
    batched = softmax([[Value(1.0), Value(2.0)], [Value(0.0), Value(0.0)]])
    close([[v.data for v in r] for r in batched], torch.softmax(torch.tensor([[1.0, 2.0], [0.0, 0.0]],
                                                                              dtype=torch.float64), -1).tolist())


def test_softmax_special_values_follow_torch(torch):
    for row in ([math.inf, 1.0], [-math.inf, 0.0], [math.nan, 1.0], [1.0, math.nan], [-math.inf, -math.inf]):
        ours = [v.data for v in softmax([Value(x) for x in row])]
        theirs = torch.softmax(torch.tensor(row, dtype=torch.float64), -1).tolist()
        assert [repr(a) for a in ours] == [repr(b) for b in theirs]


def test_cross_entropy_matches_torch(torch):
    rng = random.Random(5)
    logits = rand_rows(rng, 4, 6, 3.0)
    targets = [0, 5, 2, 2]
    x = values(logits)
    loss = cross_entropy(x, targets)
    loss.backward()
    tx = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(targets))
    tl.backward()
    close(loss.data, tl.item())
    close(grads(x), tx.grad.tolist())


def torch_gpt_loss(torch, state, ids, cfg):
    """The tiny GPT written with torch tensors from the description in nn.GPT's docstring."""
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in state.items()}
    idx, tgt = torch.tensor(ids[:-1]), torch.tensor(ids[1:])
    t, e, heads = len(idx), cfg["n_embd"], cfg["n_head"]
    d = e // heads
    ln = cfg["norm"] == "layernorm"

    def norm(x, name):
        if ln:
            w = P.get(name + ".weight")
            b = P.get(name + ".bias")
            return torch.nn.functional.layer_norm(x, (e,), w, b, 1e-5)
        y = x * ((x * x).mean(-1, keepdim=True) + 1e-5) ** -0.5
        return y * P[name + ".weight"] if name + ".weight" in P else y

    def lin(x, name):
        return torch.nn.functional.linear(x, P[name + ".weight"], P.get(name + ".bias"))

    x = P["wte.weight"][idx] + P["wpe.weight"][:t]
    if cfg.get("embedding_norm", True):
        x = norm(x, "embedding_norm")
    for i in range(cfg["n_layer"]):
        pre = f"blocks.{i}."
        h = norm(x, pre + "norm1")
        qkv = torch.nn.functional.linear(h, P[pre + "self_attn.in_proj_weight"], P.get(pre + "self_attn.in_proj_bias"))
        q, k, v = (z.view(t, heads, d).transpose(0, 1) for z in qkv.split(e, -1))
        att = (q @ k.transpose(1, 2)) / math.sqrt(d)
        att = att.masked_fill(causal_mask(torch, t), float("-inf")).softmax(-1)
        x = x + lin((att @ v).transpose(0, 1).reshape(t, e), pre + "self_attn.out_proj")
        x = x + lin(torch.relu(lin(norm(x, pre + "norm2"), pre + "linear1")), pre + "linear2")
    if cfg.get("final_norm", False):
        x = norm(x, "final_norm")
    loss = torch.nn.functional.cross_entropy(lin(x, "lm_head"), tgt)
    loss.backward()
    return loss.item(), {k: p.grad.tolist() for k, p in P.items()}


@pytest.mark.parametrize("cfg", [
    dict(n_layer=1, n_head=4, n_embd=16),
    dict(n_layer=2, n_head=2, n_embd=8, norm="layernorm", affine=True, bias=True, embedding_norm=False,
         final_norm=True),
    dict(n_layer=1, n_head=2, n_embd=8, affine=True, final_norm=True),
])
def test_gpt_matches_a_torch_gpt(torch, cfg):
    model = GPT(11, block_size=8, seed=3, **cfg)
    rng = random.Random(4)
    for p in model.parameters():  # norm weights and biases too, so none is a trivial 1 or 0
        p.data += rng.gauss(0.0, 0.1)
    ids = [0, 3, 9, 9, 1, 10, 0]
    loss = model.loss(ids)
    loss.backward()
    ref_loss, ref_grads = torch_gpt_loss(torch, model.state_dict(), ids, {"norm": "rmsnorm", **cfg})
    close(loss.data, ref_loss)
    for name, p in model.named_parameters():
        close(p.grad, at_index(ref_grads[name.partition("[")[0]], name))


# -- against finite differences ------------------------------------------------------------

def test_blocks_gradcheck():
    rng = random.Random(9)
    coef = rand_rows(rng, 3, 4)

    def check(module, t=3, c=4):
        def fn(*xs):
            rows = [list(xs[i * c:(i + 1) * c]) for i in range(t)]
            return weighted_sum(module(rows), coef)
        assert gradcheck(fn, [rng.gauss(0.0, 1.0) for _ in range(t * c)])

    check(RMSNorm(4))
    check(LayerNorm(4))
    check(Linear(4, 4, seed=1))
    check(CausalSelfAttention(4, 2, seed=1))
    check(TransformerBlock(4, 2, norm="layernorm", bias=True, seed=2))
    assert gradcheck(lambda *xs: log_softmax(list(xs))[1] * 2.0 + softmax(list(xs))[0], [0.5, -1.0, 2.0])


def test_gpt_gradcheck_on_parameters():
    """Finite differences on a sample of the GPT's parameters (the loss as a function of them)."""
    model = GPT(6, block_size=4, n_layer=1, n_head=2, n_embd=4, seed=1)
    params = model.parameters()
    picked = [params[i] for i in random.Random(0).sample(range(len(params)), 12)]
    ids = [0, 2, 5, 1, 0]

    def fn(*xs):
        for p, x in zip(picked, xs):
            p.data = x.data
        return model.loss(ids)

    start = [p.data for p in picked]
    loss = model.loss(ids)
    loss.backward()
    analytic = [p.grad for p in picked]
    eps = 1e-6
    for i, p in enumerate(picked):
        p.data = start[i] + eps
        up = model.loss(ids).data
        p.data = start[i] - eps
        down = model.loss(ids).data
        p.data = start[i]
        assert abs((up - down) / (2 * eps) - analytic[i]) < 1e-6
    assert any(abs(g) > 1e-4 for g in analytic)


# -- the tiny GPT learns -----------------------------------------------------------------------

def test_gpt_learns_names():
    vocab = CharVocab()
    names = make_names(40, seed=0)
    model = GPT(len(vocab), block_size=12, n_layer=1, n_head=2, n_embd=8, seed=0)
    opt = Adam(model.parameters(), lr=0.02)

    def mean_loss():
        return sum(model.loss(vocab.encode(n)).data for n in names[:10]) / 10

    before = mean_loss()
    for step in range(60):
        loss = model.loss(vocab.encode(names[step % len(names)]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = mean_loss()
    assert after < before - 0.5, (before, after)
    sample = model.generate([0], 12, seed=0, stop_token=0)
    assert sample[0] == 0 and len(sample) <= 13
    assert all(0 <= i < len(vocab) for i in sample)


def test_generate_is_seeded_and_crops_the_context():
    model = GPT(5, block_size=3, n_layer=1, n_head=1, n_embd=4, seed=0)
    a = model.generate([1, 2], 10, seed=4)
    assert a == model.generate([1, 2], 10, seed=4)
    assert len(a) == 12  # longer than block_size: the context is cropped, not refused
    assert model.generate([1], 5, top_k=1, seed=0) == model.generate([1], 5, top_k=1, seed=1)  # greedy
    assert model.training  # restored


def test_state_dict_round_trip_and_names():
    model = GPT(7, block_size=5, n_layer=2, n_head=2, n_embd=4, seed=0)
    keys = list(model.state_dict())
    assert keys[:2] == ["wte.weight", "wpe.weight"]
    assert "blocks.1.self_attn.in_proj_weight" in keys and keys[-1] == "lm_head.weight"
    other = GPT(7, block_size=5, n_layer=2, n_head=2, n_embd=4, seed=1)
    assert other([1, 2])[0][0].data != model([1, 2])[0][0].data
    other.load_state_dict(model.state_dict())
    assert [v.data for v in other([1, 2])[1]] == [v.data for v in model([1, 2])[1]]
    assert model.parameters()[0].label == "wte.weight[0][0]"
    assert GPT(7, seed=0).config()["type"] == "GPT"


def test_same_seed_same_weights():
    assert GPT(5, seed=2).state_dict() == GPT(5, seed=2).state_dict()
    assert GPT(5, seed=2).state_dict() != GPT(5, seed=3).state_dict()


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("ids,exc,match", [
    ([0, 27], ValueError, r"token id 27 at position 1 is out of range; ids must be in 0\.\.26"),
    ([-1], ValueError, "token id -1"),
    ([1.0], TypeError, "must be an int, got float"),
    ([True], TypeError, "must be an int, got bool"),
    (["a"], TypeError, "must be an int, got str"),
    ([[1, 2]], TypeError, "once per sequence"),
    ([], ValueError, "empty"),
    ("abc", TypeError, "expected a list of token ids"),
    (5, TypeError, "expected a list of token ids"),
    (list(range(1, 18)), ValueError, "17 tokens but block_size is 16; crop it"),
])
def test_gpt_bad_ids(ids, exc, match):
    with pytest.raises(exc, match=match):
        GPT(27)(ids)


def test_gpt_loss_bad_input():
    model = GPT(27)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        model.loss([0])
    with pytest.raises(ValueError, match="2 positions but 3 targets"):
        model.loss([0, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="targets: token id 99"):
        model.loss([0, 1], [1, 99])
    assert model.loss(list(range(17))).data > 0  # block_size + 1 tokens: 16 positions


@pytest.mark.parametrize("make,exc,match", [
    (lambda: CausalSelfAttention(10, 3), ValueError, r"embed_dim \(10\) must be divisible by num_heads \(3\)"),
    (lambda: GPT(27, n_embd=10, n_head=4), ValueError, "divisible"),
    (lambda: GPT(0), ValueError, "vocab_size must be >= 1"),
    (lambda: GPT(27, block_size=2.5), TypeError, "block_size must be an int"),
    (lambda: GPT(27, norm="batchnorm"), ValueError, "unknown norm 'batchnorm'"),
    (lambda: GPT(27, bias=1), TypeError, "bias must be True or False"),
    (lambda: GPT(27, seed="x"), TypeError, "seed must be an int"),
    (lambda: RMSNorm(4, eps=-1.0), ValueError, "eps must be >= 0, got -1.0"),
    (lambda: LayerNorm(4, eps=math.nan), ValueError, "eps must be a finite number"),
    (lambda: LayerNorm(0), ValueError, "dim must be >= 1"),
    (lambda: Embedding(3, True), TypeError, "embedding_dim must be an int"),
    (lambda: Linear(2, 3, bias="yes"), TypeError, "bias must be True or False"),
])
def test_bad_construction(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_blocks_bad_rows():
    with pytest.raises(ValueError, match="row 1 has 3 entries, expected 4"):
        RMSNorm(4)([[1.0] * 4, [1.0] * 3])
    with pytest.raises(ValueError, match="the input has 2 entries, expected 4"):
        LayerNorm(4)([1.0, 2.0])
    with pytest.raises(TypeError, match=r"entry \[0\]\[1\] must be a Value or a number, got str"):
        Linear(2, 1)([[1.0, "x"]])
    with pytest.raises(TypeError, match="got one flat row; for a single position write"):
        CausalSelfAttention(4, 2)([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="empty sequence"):
        TransformerBlock(4, 2)([])
    with pytest.raises(TypeError, match="expected a list of rows"):
        RMSNorm(4)(Value(1.0))
    with pytest.raises(ValueError, match="token id 3 at position 0 is out of range"):
        Embedding(3, 2)(3)


def test_functional_bad_input():
    with pytest.raises(ValueError, match="dim must be the last axis"):
        softmax([Value(1.0)], dim=0 + 1)
    with pytest.raises(ValueError, match="empty"):
        log_softmax([])
    with pytest.raises(TypeError, match=r"entry \[1\] must be a Value or a number, got NoneType"):
        softmax([Value(1.0), None])
    with pytest.raises(TypeError, match="expected a list"):
        softmax(Value(1.0))
    assert [round(v.data, 6) for v in softmax([1.0, 1.0], dim=0)] == [0.5, 0.5]  # numbers work, dim 0 of a row


@pytest.mark.parametrize("call,exc,match", [
    (lambda m: m.generate([0], -1), ValueError, "max_new_tokens must be >= 0"),
    (lambda m: m.generate([0], 3, temperature=0.0), ValueError, "temperature must be > 0"),
    (lambda m: m.generate([0], 3, top_k=0), ValueError, "top_k must be >= 1"),
    (lambda m: m.generate([0], 3, stop_token=30), ValueError, "stop_token: token id 30"),
    (lambda m: m.generate([40], 3), ValueError, "token id 40"),
])
def test_generate_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(GPT(27))


def test_names_example_runs():
    import pathlib
    import subprocess
    import sys
    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "names_gpt.py"
    out = subprocess.run([sys.executable, str(script), "--steps", "2", "--samples", "3"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "step     2  loss" in out.stdout and "samples" in out.stdout
    bad = subprocess.run([sys.executable, str(script), "--steps", "0"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--steps must be >= 1" in bad.stderr
    bad = subprocess.run([sys.executable, str(script), "--plot", "/nonexistent-folder/loss.png"], capture_output=True,
                         text=True, timeout=60)  # refused before training (it used to train, then crash)
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "step" not in bad.stdout
    for args, needle in ((["--plot", "loss.xyz"], "ending in .png"), (["--lr", "inf"], "finite numbers > 0")):
        bad = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and needle in bad.stderr and "step" not in bad.stdout


def test_save_and_load_weights(tmp_path):
    from nn import ModelFileError, load_weights, save_model
    model = GPT(9, block_size=6, n_layer=1, n_head=2, n_embd=4, norm="layernorm", affine=True, bias=True, seed=0)
    path = tmp_path / "gpt.json"
    save_model(model, path)
    other = GPT(9, block_size=6, n_layer=1, n_head=2, n_embd=4, norm="layernorm", affine=True, bias=True, seed=1)
    load_weights(other, path)
    assert other.state_dict() == model.state_dict()
    different = GPT(9, block_size=6, n_layer=1, n_head=2, n_embd=8, seed=1)
    before = different.state_dict()
    with pytest.raises(ModelFileError, match="different architecture"):
        load_weights(different, path)
    assert different.state_dict() == before  # untouched
    config = dict(model.config())
    assert config.pop("type") == "GPT"
    assert GPT(**config).config() == model.config()  # config() holds the constructor's arguments
    for block in (Linear(3, 2), Embedding(4, 2), RMSNorm(3), LayerNorm(3, bias=False), CausalSelfAttention(4, 2),
                  TransformerBlock(4, 2, norm="layernorm")):
        config = dict(block.config())
        assert type(block)(**{k: v for k, v in config.items() if k != "type"}).config() == block.config()


def test_gpt_graph_replays_with_compile_graph():
    """The GPT's graph has a fixed shape for a sequence (no relu-dependent wiring): a traced replay with
    changed weights gives backward()'s loss and gradients (to rounding: the softmax shifts are recorded)."""
    from engine import compile_graph
    model = GPT(8, block_size=6, n_layer=1, n_head=2, n_embd=4, seed=0)
    params = model.parameters()
    ids = [0, 3, 5, 7, 0]
    step = compile_graph(model.loss(ids), params)
    rng = random.Random(1)
    for p in params:
        p.data += rng.gauss(0.0, 0.3)  # relu signs flip, scores change
    loss, grads = step.run([p.data for p in params])
    eager = model.loss(ids)
    eager.backward()
    close(loss, eager.data)
    close(list(grads), [p.grad for p in params])


def test_huge_ints_are_refused_by_name():
    with pytest.raises(ValueError, match=r"RMSNorm: entry \[0\]\[1\] is an int too large for a float"):
        RMSNorm(2)([1.0, 10 ** 400])
    with pytest.raises(ValueError, match=r"softmax: entry \[1\] is an int too large for a float"):
        softmax([1.0, 10 ** 400])
    with pytest.raises(ValueError, match="token id 1000000000000"):
        GPT(27)([10 ** 12])
    with pytest.raises(ValueError, match="GPT: mlp_ratio must be >= 1"):
        GPT(27, mlp_ratio=0)


def test_w5_chainrule_nn_variant_agrees_with_the_minimal_value():
    """benchmarks/w5.py variant (d): nn.GPT with gpt_model's weights gives the same first loss (to 1e-9, the
    harness's check) and the same gradients as gpt_model's one-op-at-a-time code."""
    import os
    import sys
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
    sys.path.insert(0, bench)
    try:
        import gpt_model as G
        import gpt_nn
        import w5
    finally:
        sys.path.remove(bench)
    import gc
    try:
        result = w5.run("chainrule_nn", 1)
    finally:
        gc.enable()  # run() pauses the collector, as for every variant it times
    assert set(result) >= {"nodes", "peak", "loss", "times"} and len(result["times"]) == 1
    params = G.init_params()
    p = {k: [[G.MinimalValue(x) for x in row] for row in rows] for k, rows in params.items()}
    for name in ("emma", "abcdefghijklmnopqrst"):  # 5 positions; more than BLOCK (cropped to 16)
        seq = G.tokens(name)
        ref = G.loss(seq, p)
        ref.backward()
        model = gpt_nn.Model(params)
        loss = model.loss(seq)
        loss.backward()
        assert abs(loss.data - ref.data) < 1e-12
        if name == "emma":
            assert abs(result["loss"] - ref.data) < 1e-9
        by_name = dict(model.model.named_parameters())
        assert abs(by_name["blocks.0.self_attn.in_proj_weight[16][3]"].grad - p["layer0.wk"][0][3].grad) < 1e-12
        assert abs(by_name["blocks.0.linear2.weight[5][60]"].grad - p["layer0.fc2"][5][60].grad) < 1e-12
        assert abs(by_name["wte.weight[5][2]"].grad - p["wte"][5][2].grad) < 1e-12
        for v in G.flat(p):
            v.grad = 0.0


def test_generate_with_a_vanishing_temperature_or_broken_weights():
    model = GPT(9, block_size=6, n_layer=1, n_head=2, n_embd=4, seed=0)
    greedy = model.generate([0], 4, temperature=1e-3, seed=0)
    assert model.generate([0], 4, temperature=1e-320, seed=1) == greedy  # overflowing logits: the argmax, not a crash
    model.parameters()[0].data = float("nan")
    with pytest.raises(ValueError, match="GPT.generate: the model's logits are not finite"):
        model.generate([0], 3)
