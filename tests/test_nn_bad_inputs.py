"""The bad-input matrix for nn: every public function and constructor fed wrong input.

Same rules as the engine's matrix (tests/test_bad_inputs.py): each case
either works (documented behaviour, e.g. nan inputs flow through the engine
as in PyTorch, while fit/predict refuse non-finite data naming the sample) or raises a *specific* TypeError/ValueError (or our subclasses
StateDictError / ModelFileError, or OSError for files that cannot be read)
whose message names the operation.  No bare AssertionError / IndexError /
KeyError / ZeroDivisionError / RecursionError / AttributeError may escape.
"""
import json
import math

import pytest
from bad_input_matrix import NUMBERS, WRONG_TYPES, Matrix, check

from engine import Value
from nn import (
    MLP, Activation, Adam, AdamW, BatchNorm, CosineAnnealingLR, Dropout, Layer, LinearLR, ModelFileError, Neuron,
    SGD, Sequential, StateDictError, StepLR, fit, from_config, load_model, load_weights, save_model,
)
from nn import losses as L
from nn.data import batches, load_dataset, make_blobs, make_circles, make_moons, make_spirals, make_xor, \
    train_val_split
from nn.train import accuracy, evaluate

NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

MATRIX = Matrix()
CASES = MATRIX.cases
case = MATRIX.case


def _v(xs):
    return [Value(x) for x in xs]


def _model():
    return MLP(2, [3, 1], seed=0)


# -- constructors, every wrong type ---------------------------------------------
PATH_WRONG_TYPES = {k: v for k, v in WRONG_TYPES.items() if k != "str"}  # "1" is a fine path
for tname, bad in WRONG_TYPES.items():
    case(f"MLP(nin={tname})", TypeError, "MLP")(lambda bad=bad: MLP(bad, [3, 1]))
    case(f"Layer(nout={tname})", TypeError, "Layer")(lambda bad=bad: Layer(2, bad))
    case(f"Neuron(nin={tname})", TypeError, "Neuron")(lambda bad=bad: Neuron(bad))
    case(f"BatchNorm({tname})", TypeError, "BatchNorm")(lambda bad=bad: BatchNorm(bad))
    case(f"MLP(seed={tname})", (TypeError, "ok"), "MLP")(lambda bad=bad: MLP(2, [1], seed=bad))
    case(f"SGD(lr={tname})", TypeError, "SGD")(lambda bad=bad: SGD(_model().parameters(), lr=bad))
    case(f"Adam(eps={tname})", TypeError, "Adam")(lambda bad=bad: Adam(_model().parameters(), eps=bad))
    case(f"StepLR(gamma={tname})", TypeError, "StepLR")(
        lambda bad=bad: StepLR(SGD(_model().parameters()), 2, gamma=bad))
    case(f"make_moons(n={tname})", TypeError, "make_moons")(lambda bad=bad: make_moons(bad))
    case(f"l2_regularization(alpha={tname})", TypeError, "l2_regularization")(
        lambda bad=bad: L.l2_regularization(_v([1.0]), alpha=bad))
    case(f"hinge_loss(margin={tname})", TypeError, "hinge_loss")(
        lambda bad=bad: L.hinge_loss(_v([1.0]), [1], margin=bad))
    if bad is not None:  # lr=None means "the default"
        case(f"fit(lr={tname})", TypeError, "fit")(lambda bad=bad: fit(_model(), [[0.0, 0.0]], [0], lr=bad, epochs=1))
    case(f"fit(X={tname})", (TypeError, ValueError), "fit")(lambda bad=bad: fit(_model(), bad, [0], epochs=1))
    case(f"MLP()(input {tname})", (TypeError, ValueError), "Layer")(lambda bad=bad: _model()(bad))
    case(f"predict([{tname}])", (TypeError, ValueError), "MLP.predict: X[0]")(lambda bad=bad: _model().predict([bad]))
    case(f"predict([[1.0, {tname}]])", TypeError, "MLP.predict: X[0][1] must be a number")(
        lambda bad=bad: _model().predict([[1.0, bad]]))
    case(f"mse_loss(input=[{tname}])", TypeError, "mse_loss")(lambda bad=bad: L.mse_loss([bad], [1.0]))
    case(f"cross_entropy(target={tname})", (TypeError, ValueError), "cross_entropy")(
        lambda bad=bad: L.cross_entropy(_v([1.0, 2.0]), bad))

    case(f"load_state_dict(weight {tname})", StateDictError, "load_state_dict")(
        lambda bad=bad: _model().load_state_dict(_state_with("0.bias", [bad, 0.0, 0.0])))
    case(f"Dropout(p={tname})", (TypeError, ValueError), "Dropout")(lambda bad=bad: Dropout(bad))

for tname, bad in PATH_WRONG_TYPES.items():
    case(f"save_model(path={tname})", TypeError, "save_model")(lambda bad=bad: save_model(_model(), bad))
    case(f"load_model(path={tname})", TypeError, "load_model")(lambda bad=bad: load_model(bad))
    case(f"load_weights(path={tname})", TypeError, "load_weights")(lambda bad=bad: load_weights(_model(), bad))
case("Dropout(p=1.5)", ValueError, "Dropout")(lambda: Dropout(1.5))
case("Dropout(p=-0.1)", ValueError, "Dropout")(lambda: Dropout(-0.1))
case("Dropout(p=nan)", ValueError, "Dropout")(lambda: Dropout(math.nan))
case("Dropout(p=1) drops all", "ok")(lambda: Dropout(1.0)(_v([1.0, 2.0])))
case("MLP(nin=0)", ValueError, "MLP")(lambda: MLP(0, [1]))
case("MLP(nouts=[])", ValueError, "MLP")(lambda: MLP(2, []))
case("MLP(nouts=3)", TypeError, "MLP")(lambda: MLP(2, 3))
case("MLP(nouts=[16, 0, 1])", ValueError, "MLP")(lambda: MLP(2, [16, 0, 1]))
case("MLP(nouts=[2.0])", TypeError, "MLP")(lambda: MLP(2, [2.0]))
case("MLP(activation='gelu')", ValueError, "MLP")(lambda: MLP(2, [1], "gelu"))
case("MLP(init='zeros')", ValueError, "MLP")(lambda: MLP(2, [1], init="zeros"))
case("MLP(batchnorm=1)", TypeError, "MLP")(lambda: MLP(2, [1], batchnorm=1))
case("MLP(dropout=2)", ValueError, "MLP: dropout")(lambda: MLP(2, [3, 1], dropout=2))
case("MLP(dropout='x')", TypeError, "MLP: dropout")(lambda: MLP(2, [3, 1], dropout="x"))
case("MLP width-1 hidden", "ok")(lambda: MLP(2, [16, 1, 1])([1.0, 2.0]))
case("Layer(activation=None)", ValueError, "Layer")(lambda: Layer(2, 2, None))
case("Layer(-1, 2)", ValueError, "Layer")(lambda: Layer(-1, 2))
case("Neuron(init='x')", ValueError, "Neuron")(lambda: Neuron(2, init="x"))
case("Activation('softmax')", ValueError, "Activation")(lambda: Activation("softmax"))
case("Activation()(['a'])", TypeError, "Value")(lambda: Activation()(["a"]))
case("BatchNorm(0)", ValueError, "BatchNorm")(lambda: BatchNorm(0))
case("BatchNorm(eps=0)", ValueError, "BatchNorm")(lambda: BatchNorm(2, eps=0))
case("BatchNorm(eps=nan)", ValueError, "BatchNorm")(lambda: BatchNorm(2, eps=math.nan))
case("BatchNorm(momentum=2)", ValueError, "BatchNorm")(lambda: BatchNorm(2, momentum=2))
case("BatchNorm(momentum='x')", TypeError, "BatchNorm: momentum")(lambda: BatchNorm(2, momentum="x"))
case("BatchNorm train single sample", ValueError, "BatchNorm")(lambda: BatchNorm(2)(_v([1.0, 2.0])))
case("BatchNorm train batch of 1", ValueError, "BatchNorm")(lambda: BatchNorm(2).forward_batch([[1.0, 2.0]]))
case("BatchNorm wrong width", ValueError, "BatchNorm")(lambda: BatchNorm(2).forward_batch([[1.0], [2.0]]))
case("BatchNorm constant batch", "ok")(lambda: BatchNorm(1).forward_batch([[1.0], [1.0]]))
case("BatchNorm eval wrong width", ValueError, "BatchNorm")(lambda: BatchNorm(2).eval().predict([[1.0]]))
case("Sequential(3)", TypeError, "Sequential")(lambda: Sequential(Layer(2, 2), 3))
case("Sequential() empty ok", "ok")(lambda: Sequential()([1.0, 2.0]))
case("Module.train('yes')", TypeError, "train")(lambda: _model().train("yes"))
case("Module base call", NotImplementedError, "Module")(lambda: __import__("nn").Module()([1.0]))


# -- Module.__call__ / predict: wrong sizes and special numbers -------------------
case("MLP input too short", ValueError, "expected an input of length 2")(lambda: _model()([1.0]))
case("MLP input too long", ValueError, "expected an input of length 2")(lambda: _model()([1.0, 2.0, 3.0]))
case("MLP input empty", ValueError, "expected an input of length 2")(lambda: _model()([]))
case("MLP input a number", TypeError, "Layer")(lambda: _model()(1.0))
case("MLP input a str of 2", TypeError, "engine.linear: inputs[0][0] must be a Value or a number, got str 'a'")(lambda: _model()("ab"))
case("MLP input nested", TypeError, "MLP: expected one sample (a flat list of 2 numbers)")(lambda: _model()([[1.0], [2.0]]))
case("Neuron input a number", TypeError, "Neuron")(lambda: Neuron(2)(3.0))
case("Neuron input wrong length", ValueError, "Neuron")(lambda: Neuron(2)([1.0]))
case("predict(None)", TypeError, "predict")(lambda: _model().predict(None))
case("predict([1.0, 2.0]) flat", TypeError, "predict: expected a list of samples; for one sample write")(lambda: _model().predict([1.0, 2.0]))
case("predict wrong width", ValueError, "X[0] has 3 features but the model takes 2")(lambda: _model().predict([[1.0, 2.0, 3.0]]))
case("predict([]) empty ok", "ok")(lambda: _model().predict([]))
case("predict batchnorm-train falls back", "ok")(lambda: MLP(2, [3, 1], batchnorm=True).predict([[1.0, 2.0]]))
for nname, x in NUMBERS.items():
    def run_forward(x=x):
        m = _model()
        out = m([x, 1.0])
        out.backward()
        return out
    case(f"MLP forward+backward {nname}", "ok")(run_forward)
    if math.isfinite(x):
        case(f"predict {nname}", "ok")(lambda x=x: _model().predict([[x, x]]))
    else:  # issue 14: one NaN feature must not come back as a plausible-looking prediction
        case(f"predict {nname}", ValueError, f"MLP.predict: X[1][0] is {x}")(
            lambda x=x: _model().predict([[1.0, 2.0], [x, x]]))
        case(f"fit X {nname}", ValueError, f"fit: X[2][1] is {x}")(lambda x=x: _fit(X=XS[:2] + [[0.0, x]] + XS[3:]))
        case(f"evaluate X {nname}", ValueError, f"X[0][0] is {x}")(lambda x=x: evaluate(_model(), [[x, 0.0]], [0]))
        case(f"fit X_val {nname}", ValueError, f"fit: X_val[0][1] is {x}")(
            lambda x=x: _fit(X_val=[[0.0, x]], y_val=[0]))
    case(f"mse_loss input {nname}", "ok")(lambda x=x: L.mse_loss(_v([x]), [0.0]).backward())
    case(f"bce input {nname}", "ok")(lambda x=x: L.binary_cross_entropy_with_logits(_v([x]), [1.0]).backward())
    case(f"cross_entropy logits {nname}", "ok")(lambda x=x: L.cross_entropy(_v([x, 0.0]), 0).backward())
    case(f"hinge input {nname}", "ok")(lambda x=x: L.hinge_loss(_v([x]), [1]).backward())
    case(f"SGD step with grad {nname}", "ok")(lambda x=x: _step(SGD, x))
    case(f"Adam step with grad {nname}", "ok")(lambda x=x: _step(Adam, x))


def _step(cls, g):
    p = Value(1.0)
    p.grad = g
    cls([p], lr=0.1).step()
    return p


# -- load_state_dict ------------------------------------------------------------
def _state_with(key, value):
    state = _model().state_dict()
    state[key] = value
    return state


case("load_state_dict(list)", StateDictError, "load_state_dict")(lambda: _model().load_state_dict([1.0]))
case("load_state_dict(None)", StateDictError, "load_state_dict")(lambda: _model().load_state_dict(None))
case("load_state_dict({})", StateDictError, "missing key")(lambda: _model().load_state_dict({}))
case("load_state_dict({}) strict=False ok", "ok")(lambda: _model().load_state_dict({}, strict=False))
case("load_state_dict extra key", StateDictError, "unexpected key")(
    lambda: _model().load_state_dict(_state_with("9.weight", [1.0])))
case("load_state_dict int key", StateDictError, "unexpected key")(
    lambda: _model().load_state_dict(_state_with(3, [1.0])))
case("load_state_dict short row", StateDictError, "wrong shape")(
    lambda: _model().load_state_dict(_state_with("0.weight", [[1.0, 2.0], [1.0, 2.0]])))
case("load_state_dict flat weight", StateDictError, "wrong shape")(
    lambda: _model().load_state_dict(_state_with("0.weight", [1.0, 2.0, 3.0])))
case("load_state_dict scalar for list", StateDictError, "wrong shape")(
    lambda: _model().load_state_dict(_state_with("0.bias", 1.0)))
case("load_state_dict empty list", StateDictError, "wrong shape")(
    lambda: _model().load_state_dict(_state_with("0.bias", [])))
case("load_state_dict too deep", StateDictError, "must be a number")(
    lambda: _model().load_state_dict(_state_with("0.bias", [[0.0], [0.0], [0.0]])))
for nname, x in NON_FINITE.items():
    case(f"load_state_dict {nname} weight", StateDictError, "finite")(
        lambda x=x: _model().load_state_dict(_state_with("1.bias", [x])))
case("load_state_dict huge ok", "ok")(lambda: _model().load_state_dict(_state_with("1.bias", [1e308])))
case("load_state_dict tiny ok", "ok")(lambda: _model().load_state_dict(_state_with("1.bias", [5e-324])))
case("load_state_dict huge int", StateDictError, "load_state_dict")(
    lambda: _model().load_state_dict(_state_with("1.bias", [10 ** 400])))


# -- losses: wrong kinds and lengths of labels ------------------------------------
BINARY = {"mse_loss": L.mse_loss, "l1_loss": L.l1_loss, "hinge_loss": L.hinge_loss,
          "binary_cross_entropy_with_logits": L.binary_cross_entropy_with_logits}
MULTI = {"cross_entropy": L.cross_entropy, "multi_margin_loss": L.multi_margin_loss}
for name, fn in BINARY.items():
    case(f"{name} unequal lengths", ValueError, name)(lambda fn=fn: fn(_v([1.0, 2.0]), [1]))
    case(f"{name} empty", ValueError, name)(lambda fn=fn: fn([], []))
    case(f"{name} target str", TypeError, name)(lambda fn=fn: fn(_v([1.0]), ["1"]))
    case(f"{name} target None", TypeError, name)(lambda fn=fn: fn(_v([1.0]), None))
    case(f"{name} target bool", TypeError, name)(lambda fn=fn: fn(_v([1.0]), [True]))
    case(f"{name} target dict", TypeError, name)(lambda fn=fn: fn(_v([1.0]), {"a": 1}))
    case(f"{name} input str", TypeError, name)(lambda fn=fn: fn("1", [1]))
    case(f"{name} input [str]", TypeError, name)(lambda fn=fn: fn(["a"], [1]))
    case(f"{name} input [None]", TypeError, name)(lambda fn=fn: fn([None], [1]))
    case(f"{name} input [[Value]]", TypeError, name)(lambda fn=fn: fn([_v([1.0])], [1]))
    case(f"{name} reduction='avg'", ValueError, name)(lambda fn=fn: fn(_v([1.0]), [1], reduction="avg"))
    case(f"{name} plain floats ok", "ok")(lambda fn=fn: fn([0.5, -0.5], [1, -1 if "hinge" in fn.__name__ else 0]))
    case(f"{name} reduction none", "ok")(lambda fn=fn: fn(_v([0.5]), [1], reduction="none"))
case("hinge_loss 0/1 labels", ValueError, "-1 or +1")(lambda: L.hinge_loss(_v([1.0, 2.0]), [0, 1]))
case("hinge_loss label 2", ValueError, "-1 or +1")(lambda: L.hinge_loss(_v([1.0]), [2]))
case("hinge_loss nan label", ValueError, "-1 or +1")(lambda: L.hinge_loss(_v([1.0]), [math.nan]))
case("hinge_loss margin nan", ValueError, "hinge_loss")(lambda: L.hinge_loss(_v([1.0]), [1], margin=math.nan))
case("bce label 2", ValueError, "[0, 1]")(lambda: L.binary_cross_entropy_with_logits(_v([1.0]), [2]))
case("bce label -1", ValueError, "[0, 1]")(lambda: L.binary_cross_entropy_with_logits(_v([1.0]), [-1]))
case("bce label nan", ValueError, "[0, 1]")(lambda: L.binary_cross_entropy_with_logits(_v([1.0]), [math.nan]))
case("bce soft label ok", "ok")(lambda: L.binary_cross_entropy_with_logits(_v([1.0]), [0.3]))
case("mse target inf ok", "ok")(lambda: L.mse_loss(_v([1.0]), [math.inf]))
for name, fn in MULTI.items():
    case(f"{name} float label 0.5", (TypeError, ValueError), name)(lambda fn=fn: fn([_v([1.0, 2.0])], [0.5]))
    case(f"{name} label -1", ValueError, name)(lambda fn=fn: fn([_v([1.0, 2.0])], [-1]))
    case(f"{name} label = K", ValueError, name)(lambda fn=fn: fn([_v([1.0, 2.0])], [2]))
    case(f"{name} label str", (TypeError, ValueError), name)(lambda fn=fn: fn([_v([1.0, 2.0])], ["0"]))
    case(f"{name} label bool", (TypeError, ValueError), name)(lambda fn=fn: fn([_v([1.0, 2.0])], [True]))
    case(f"{name} label nan", (TypeError, ValueError), name)(lambda fn=fn: fn([_v([1.0, 2.0])], [math.nan]))
    case(f"{name} fewer targets", ValueError, name)(lambda fn=fn: fn([_v([1.0, 2.0]), _v([0.0, 1.0])], [0]))
    case(f"{name} empty batch", ValueError, name)(lambda fn=fn: fn([], []))
    case(f"{name} input a Value", TypeError, name)(lambda fn=fn: fn(Value(1.0), 0))
    case(f"{name} input None", TypeError, name)(lambda fn=fn: fn(None, 0))
    case(f"{name} empty row", ValueError, name)(lambda fn=fn: fn([[]], [0]))
    case(f"{name} ragged batch", ValueError, "sample 1 has 3 class scores but sample 0 has 2")(
        lambda fn=fn: fn([_v([1.0, 2.0]), _v([1.0, 2.0, 3.0])], [1, 2]))
    case(f"{name} row of str", TypeError, name)(lambda fn=fn: fn([["a", "b"]], [0]))
    case(f"{name} mixed rows", TypeError, name)(lambda fn=fn: fn([_v([1.0, 2.0]), Value(1.0)], [0, 1]))
    case(f"{name} single sample ok", "ok")(lambda fn=fn: fn(_v([1.0, 2.0]), 1))
    case(f"{name} float-int label ok", "ok")(lambda fn=fn: fn([_v([1.0, 2.0])], [1.0]))
case("cross_entropy target list for one sample", ValueError, "for one sample: the int, not a list")(
    lambda: L.cross_entropy(_v([1.0, 2.0]), [0]))
case("cross_entropy huge logits ok", "ok")(lambda: L.cross_entropy(_v([1e308, -1e308]), 1).backward())
for reg in (L.l1_regularization, L.l2_regularization):
    name = reg.__name__
    case(f"{name}(model) ok", "ok")(lambda reg=reg: reg(_model(), 0.1).backward())
    case(f"{name}([]) ok", "ok")(lambda reg=reg: reg([], 0.1).backward())
    case(f"{name}([1.0])", TypeError, name)(lambda reg=reg: reg([1.0]))
    case(f"{name}(None)", TypeError, name)(lambda reg=reg: reg(None))
    case(f"{name}(alpha=nan)", ValueError, name)(lambda reg=reg: reg(_v([1.0]), math.nan))
    case(f"{name}(alpha=-1)", ValueError, name)(lambda reg=reg: reg(_v([1.0]), -1.0))


# -- optimisers and schedules -------------------------------------------------------
for cls in (SGD, Adam, AdamW):
    n = cls.__name__
    case(f"{n}([])", ValueError, n)(lambda cls=cls: cls([]))
    case(f"{n}(None)", TypeError, n)(lambda cls=cls: cls(None))
    case(f"{n}(3)", TypeError, n)(lambda cls=cls: cls(3))
    case(f"{n}([1.0])", TypeError, n)(lambda cls=cls: cls([1.0]))
    case(f"{n}(lr=-1)", ValueError, n)(lambda cls=cls: cls(_v([1.0]), lr=-1))
    case(f"{n}(lr=huge) ok", "ok")(lambda cls=cls: cls(_v([1.0]), lr=1e308))
    case(f"{n}(lr=tiny) ok", "ok")(lambda cls=cls: cls(_v([1.0]), lr=5e-324))
    case(f"{n}(weight_decay=-1)", ValueError, n)(lambda cls=cls: cls(_v([1.0]), weight_decay=-1))
    for nname, x in NON_FINITE.items():
        case(f"{n}(lr={nname})", ValueError, n)(lambda cls=cls, x=x: cls(_v([1.0]), lr=x))
case("SGD(momentum=-0.5)", ValueError, "SGD")(lambda: SGD(_v([1.0]), momentum=-0.5))
case("SGD(nesterov without momentum)", ValueError, "SGD")(lambda: SGD(_v([1.0]), nesterov=True))
case("Adam(betas=0.9)", TypeError, "Adam")(lambda: Adam(_v([1.0]), betas=0.9))
case("Adam(betas=(0.9,))", TypeError, "Adam")(lambda: Adam(_v([1.0]), betas=(0.9,)))
case("Adam(betas=(1, 0.9))", ValueError, "Adam")(lambda: Adam(_v([1.0]), betas=(1.0, 0.9)))
case("Adam(betas=(nan, 0.9))", ValueError, "Adam")(lambda: Adam(_v([1.0]), betas=(math.nan, 0.9)))
case("Adam(eps=0)", ValueError, "Adam")(lambda: Adam(_v([1.0]), eps=0.0))
case("StepLR(object)", TypeError, "StepLR")(lambda: StepLR(object(), 2))
case("StepLR(step_size=0)", ValueError, "StepLR")(lambda: StepLR(SGD(_v([1.0])), 0))
case("StepLR(step_size=1.5)", TypeError, "StepLR: step_size")(lambda: StepLR(SGD(_v([1.0])), 1.5))
case("StepLR(gamma=nan)", ValueError, "StepLR")(lambda: StepLR(SGD(_v([1.0])), 1, gamma=math.nan))
case("LinearLR(total_iters=0)", ValueError, "LinearLR")(lambda: LinearLR(SGD(_v([1.0])), total_iters=0))
case("LinearLR(start_factor='x')", TypeError, "LinearLR")(lambda: LinearLR(SGD(_v([1.0])), start_factor="x"))
case("CosineAnnealingLR(T_max=0)", ValueError, "CosineAnnealingLR")(lambda: CosineAnnealingLR(SGD(_v([1.0])), 0))
case("CosineAnnealingLR(None)", TypeError, "CosineAnnealingLR")(lambda: CosineAnnealingLR(None, 5))
case("CosineAnnealingLR lr=0 ok", "ok")(lambda: CosineAnnealingLR(SGD(_v([1.0]), lr=0.0), 5).step())


# -- datasets -----------------------------------------------------------------------
for mk in (make_moons, make_circles, make_xor, make_spirals, make_blobs):
    n = mk.__name__
    case(f"{n}(n=0)", ValueError, n)(lambda mk=mk: mk(0))
    case(f"{n}(n=-5)", ValueError, n)(lambda mk=mk: mk(-5))
    case(f"{n}(n=2.5)", TypeError, n)(lambda mk=mk: mk(2.5))
    case(f"{n}(noise=nan)", ValueError, n)(lambda mk=mk: mk(10, noise=math.nan) if mk is not make_blobs
                                           else mk(10, std=math.nan))
    case(f"{n}(noise=inf)", ValueError, n)(lambda mk=mk: mk(10, noise=math.inf) if mk is not make_blobs
                                           else mk(10, std=math.inf))
    case(f"{n}(seed=[1])", TypeError, n)(lambda mk=mk: mk(10, seed=[1]))
    case(f"{n}(noise=tiny) ok", "ok")(lambda mk=mk: mk(10, noise=5e-324) if mk is not make_blobs
                                      else mk(10, std=5e-324))
case("make_circles(factor=1)", ValueError, "make_circles")(lambda: make_circles(10, factor=1.0))
case("make_spirals(classes=1)", ValueError, "make_spirals")(lambda: make_spirals(10, classes=1))
case("make_blobs(centers='3')", TypeError, "make_blobs: centers")(lambda: make_blobs(10, centers="3"))
case("load_dataset('mnist')", ValueError, "load_dataset")(lambda: load_dataset("mnist"))
case("load_dataset(None)", ValueError, "load_dataset")(lambda: load_dataset(None))
case("load_dataset(['moons'])", ValueError, "load_dataset")(lambda: load_dataset(["moons"]))
case("train_val_split unequal", ValueError, "train_val_split")(lambda: train_val_split([[0.0]] * 3, [0, 1]))
case("train_val_split empty", ValueError, "train_val_split")(lambda: train_val_split([], []))
case("train_val_split(fraction=1)", ValueError, "train_val_split")(lambda: train_val_split([[0]] * 3, [0] * 3, 1))
case("train_val_split(fraction=nan)", ValueError, "train_val_split")(
    lambda: train_val_split([[0]] * 3, [0] * 3, math.nan))
case("train_val_split(None, None)", TypeError, "train_val_split")(lambda: train_val_split(None, None))
case("train_val_split one sample ok", "ok")(lambda: train_val_split([[0]], [0], 0.5))
case("batches unequal", ValueError, "batches")(lambda: list(batches([1, 2], [1])))
case("batches empty", ValueError, "batches")(lambda: list(batches([], [])))
case("batches(batch_size=0)", ValueError, "batches")(lambda: list(batches([1], [1], 0)))
case("batches(batch_size=1.0)", TypeError, "batches: batch_size")(lambda: list(batches([1], [1], 1.0)))
case("batches(None, None)", TypeError, "batches")(lambda: list(batches(None, None)))
case("batches(3, [1])", TypeError, "batches")(lambda: list(batches(3, [1])))
case("batches(generator) ok", "ok")(lambda: list(batches(iter([1, 2]), iter([1, 2]))))


# -- fit / evaluate / accuracy -----------------------------------------------------
XS, YS = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [-1.0, -1.0]], [0, 1, 1, 0]


def _fit(model=None, X=XS, y=YS, **kw):
    kw.setdefault("epochs", 1)
    kw.setdefault("progress", False)
    return fit(model if model is not None else _model(), X, y, **kw)


case("fit(model=None)", TypeError, "fit")(lambda: fit(None, XS, YS))
case("fit(model=list)", TypeError, "fit")(lambda: fit([1], XS, YS))
case("fit empty X", ValueError, "fit")(lambda: _fit(X=[], y=[]))
case("fit unequal X/y", ValueError, "fit")(lambda: _fit(y=YS[:3]))
case("fit(y=None)", TypeError, "fit")(lambda: _fit(y=None))
case("fit(X=3)", TypeError, "fit")(lambda: _fit(X=3))
case("fit wrong sample width", ValueError, "fit: X[0] has 1 features but the model takes 2")(lambda: _fit(X=[[0.0]] * 4))
case("fit ragged samples", ValueError, "fit")(lambda: _fit(X=XS[:3] + [[1.0]]))
case("fit sample of str", TypeError, "fit")(lambda: _fit(X=[["a", "b"]] * 4))
case("fit label 0.5", TypeError, "fit")(lambda: _fit(y=[0, 1, 0.5, 0]))
case("fit label 2 for binary", ValueError, "fit")(lambda: _fit(y=[0, 1, 2, 0]))
case("fit label str", TypeError, "fit")(lambda: _fit(y=["0", "1", "1", "0"]))
case("fit label None", TypeError, "fit")(lambda: _fit(y=[None] * 4))
case("fit label nan", TypeError, "fit")(lambda: _fit(y=[math.nan] * 4))
case("fit label list", TypeError, "fit")(lambda: _fit(y=[[0]] * 4))
case("fit -1/+1 labels ok", "ok")(lambda: _fit(y=[-1, 1, 1, -1]))
case("fit label 3 for 3 classes", ValueError, "fit")(lambda: _fit(MLP(2, [3, 3]), y=[0, 1, 2, 3]))
case("fit(epochs=0)", ValueError, "fit")(lambda: _fit(epochs=0))
case("fit(epochs=1.5)", TypeError, "fit: epochs")(lambda: _fit(epochs=1.5))
case("fit(epochs=None)", TypeError, "fit: epochs")(lambda: _fit(epochs=None))
case("fit(loss='nll')", ValueError, "fit")(lambda: _fit(loss="nll"))
case("fit(loss=cross_entropy) binary", ValueError, "fit")(lambda: _fit(loss="cross_entropy"))
case("fit(loss=hinge) 3 classes", ValueError, "fit")(lambda: _fit(MLP(2, [3, 3]), y=[0, 1, 2, 0], loss="hinge"))
case("fit loss fn returns float", TypeError, "fit")(lambda: _fit(loss=lambda out, yb: 1.0))
case("fit(optimizer='lbfgs')", ValueError, "fit")(lambda: _fit(optimizer="lbfgs"))
case("fit(optimizer=None)", ValueError, "fit")(lambda: _fit(optimizer=None))
case("fit(schedule='exp')", ValueError, "make_scheduler")(lambda: _fit(schedule="exp"))
case("fit(batch_size=0) full batch ok", "ok")(lambda: _fit(batch_size=0))
case("fit(batch_size=-1)", ValueError, "fit: batch_size must be >= 0")(lambda: _fit(batch_size=-1))
case("fit(batch_size='4')", TypeError, "fit: batch_size")(lambda: _fit(batch_size="4"))
case("fit(batch_size=huge) ok", "ok")(lambda: _fit(batch_size=10 ** 9))
case("fit(l2=nan)", ValueError, "fit")(lambda: _fit(l2=math.nan))
case("fit(l1=-1)", ValueError, "fit")(lambda: _fit(l1=-1.0))
case("fit(lr=nan)", ValueError, "fit")(lambda: _fit(lr=math.nan))
case("fit(lr=inf)", ValueError, "fit")(lambda: _fit(lr=math.inf))
case("fit(lr=-1)", ValueError, "fit")(lambda: _fit(lr=-1.0))
case("fit(lr=nan, optimizer=SGD)", ValueError, "fit")(
    lambda: (lambda m: _fit(m, optimizer=SGD(m.parameters()), lr=math.nan))(_model()))
case("fit X_val unequal", ValueError, "fit")(lambda: _fit(X_val=XS, y_val=YS[:2]))
case("fit X_val bad label", ValueError, "fit")(lambda: _fit(X_val=XS, y_val=[0, 1, 5, 0]))
case("fit X_val wrong width", ValueError, "fit: X_val[0] has 1 features but the model takes 2")(
    lambda: _fit(X_val=[[1.0]], y_val=[0]))
case("fit(callback=3)", TypeError, "fit")(lambda: _fit(callback=3))
case("fit with nan inputs", ValueError, "fit: X[0][0] is nan")(lambda: _fit(X=[[math.nan, 0.0]] + XS[1:]))
case("fit huge lr diverges ok", "ok")(lambda: _fit(lr=1e300, optimizer="sgd", epochs=2))
case("evaluate empty", ValueError, "evaluate")(lambda: evaluate(_model(), [], []))
case("evaluate unequal", ValueError, "accuracy")(lambda: evaluate(_model(), XS, YS[:2]))
case("accuracy unequal", ValueError, "accuracy")(lambda: accuracy([1.0], [1, 0]))
case("accuracy empty ok (nan)", "ok")(lambda: accuracy([], []))


# -- files: save_model / load_model / load_weights -----------------------------------
TMP = {}


def _path(name):
    return TMP["dir"] / name


def _write(name, content):
    p = _path(name)
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


def _doc(**change):
    m = _model()
    d = {"format": "chainrule-model", "format_version": 1, "architecture": m.config(), "state": m.state_dict()}
    d.update(change)
    return json.dumps(d)


case("save_model(None model)", TypeError, "save_model")(lambda: save_model(None, _path("a.json")))
case("save_model(dict)", TypeError, "save_model")(lambda: save_model({}, _path("a.json")))
case("save_model into a directory", IsADirectoryError)(lambda: save_model(_model(), TMP["dir"]))
case("save_model under a file", OSError)(lambda: save_model(_model(), _write("f.txt", "x") / "m.json"))
case("save_model metadata object()", TypeError, "save_model")(
    lambda: save_model(_model(), _path("m.json"), metadata={"x": object()}))
case("save_model metadata nan", ValueError, "save_model")(
    lambda: save_model(_model(), _path("m.json"), metadata={"x": math.nan}))
case("save_model metadata not dict", TypeError, "save_model")(
    lambda: save_model(_model(), _path("m.json"), metadata=[1]))
case("save_model nan weight", ValueError, "save_model")(
    lambda: save_model(_nan_model(), _path("m.json")))
case("save_model huge weights ok", "ok")(lambda: save_model(_scaled_model(1e308), _path("h.json")))
case("save_model tiny weights ok", "ok")(lambda: save_model(_scaled_model(5e-324), _path("t.json")))
case("load_model missing", FileNotFoundError)(lambda: load_model(_path("nope.json")))
case("load_model a directory", IsADirectoryError)(lambda: load_model(TMP["dir"]))
case("load_model(max_bytes=-1)", ValueError, "load_model")(lambda: load_model(_write("g.json", _doc()), max_bytes=-1))
case("load_model(max_bytes='1')", TypeError, "load_model")(
    lambda: load_model(_write("g.json", _doc()), max_bytes="1"))
case("load_model oversize", ModelFileError, "limit")(lambda: load_model(_write("g.json", _doc()), max_bytes=10))
case("load_model empty", ModelFileError, "empty")(lambda: load_model(_write("e.json", "")))
case("load_model whitespace", ModelFileError, "empty")(lambda: load_model(_write("e.json", "  \n")))
case("load_model binary", ModelFileError, "UTF-8")(lambda: load_model(_write("b.json", b"\x80\x81\x00")))
case("load_model truncated", ModelFileError, "truncated")(lambda: load_model(_write("t.json", _doc()[:40])))
case("load_model deep nesting", ModelFileError, "model file")(
    lambda: load_model(_write("d.json", "[" * 100000 + "]" * 100000)))
case("load_model a number", ModelFileError, "top level")(lambda: load_model(_write("n.json", "3")))
case("load_model null", ModelFileError, "top level")(lambda: load_model(_write("n.json", "null")))
case("load_model format missing", ModelFileError, "format")(lambda: load_model(_write("n.json", "{}")))
case("load_model version 2", ModelFileError, "format_version 2")(
    lambda: load_model(_write("v.json", _doc(format_version=2))))
case("load_model version '1'", ModelFileError, "format_version '1'")(
    lambda: load_model(_write("v.json", _doc(format_version="1"))))
case("load_model version 1.0 ok", "ok")(lambda: load_model(_write("v.json", _doc(format_version=1.0))))
case("load_model version true", ModelFileError, "format_version True")(
    lambda: load_model(_write("v.json", _doc(format_version=True))))
case("load_model architecture list", ModelFileError, "architecture")(
    lambda: load_model(_write("a.json", _doc(architecture=[1]))))
case("load_model architecture nin=0", ModelFileError, "nin")(
    lambda: load_model(_write("a.json", _doc(architecture={"type": "MLP", "nin": 0, "nouts": [1]}))))
case("load_model architecture bad kwarg", ModelFileError, "architecture")(
    lambda: load_model(_write("a.json", _doc(architecture={"type": "MLP", "nin": 2, "nouts": [3, 1], "x": 1}))))
case("load_model architecture huge", ModelFileError, "architecture")(
    lambda: load_model(_write("a.json", _doc(architecture={"type": "MLP", "nin": 2, "nouts": [10 ** 9, 1]}))))
case("load_model architecture huge Sequential", ModelFileError, "architecture")(
    lambda: load_model(_write("a.json", _doc(architecture={"type": "Sequential", "modules": [
        {"type": "Layer", "nin": 10 ** 6, "nout": 10 ** 6}]}))))
def _deep_sequential(depth):
    arch = {"type": "Layer", "nin": 2, "nout": 1}
    for _ in range(depth):
        arch = {"type": "Sequential", "modules": [arch]}
    return arch


def _deep_sequential_text(depth):  # built as text: json.dumps itself cannot nest this deep
    arch = '{"type": "Sequential", "modules": [' * depth + '{"type": "Layer", "nin": 2, "nout": 1}' + "]}" * depth
    return _doc(architecture="@@").replace('"@@"', arch)


case("load_model Sequential nested 5000 deep", ModelFileError, "model file")(
    lambda: load_model(_write("a.json", _deep_sequential_text(5000))))
case("load_model Sequential nested 400 deep", ModelFileError, "")(
    lambda: load_model(_write("a.json", _doc(architecture=_deep_sequential(400)))))
case("load_model Sequential no modules", ModelFileError, "modules")(
    lambda: load_model(_write("a.json", _doc(architecture={"type": "Sequential"}))))
case("load_model state null", ModelFileError, "state")(lambda: load_model(_write("s.json", _doc(state=None))))
case("load_model weight 1e400", ModelFileError, "finite")(
    lambda: load_model(_write("s.json", _doc().replace('"1.bias": [', '"1.bias": [1e400, ', 1)
                             .replace('"1.bias": [1e400, 0.0', '"1.bias": [1e400'))))
case("load_model weight true", ModelFileError, "must be a number")(
    lambda: load_model(_write("s.json", _doc(state=_state_with("1.bias", [True])))))
case("load_model weight null", ModelFileError, "must be a number")(
    lambda: load_model(_write("s.json", _doc(state=_state_with("1.bias", [None])))))
case("load_model weight NaN", ModelFileError, "NaN")(
    lambda: load_model(_write("s.json", _doc().replace('"1.bias": [0.0]', '"1.bias": [NaN]'))))
case("load_model weight NaN allowed", "ok")(
    lambda: load_model(_write("s.json", _doc().replace('"1.bias": [0.0]', '"1.bias": [NaN]')),
                       allow_nonfinite=True))
case("load_model weight -Infinity allowed", "ok")(
    lambda: load_model(_write("s.json", _doc().replace('"1.bias": [0.0]', '"1.bias": [-Infinity]')),
                       allow_nonfinite=True))
case("load_model wrong shape", ModelFileError, "wrong shape")(
    lambda: load_model(_write("s.json", _doc(state=_state_with("0.weight", [[1.0, 2.0]] * 2)))))
case("load_model duplicate keys (last wins) ok", "ok")(
    lambda: load_model(_write("s.json", _doc()[:-1] + ', "format": "chainrule-model"}')))
case("load_weights(None model)", TypeError, "load_weights")(
    lambda: load_weights(None, _write("g.json", _doc())))
case("load_weights(list model)", TypeError, "load_weights")(
    lambda: load_weights([1], _write("g.json", _doc())))
case("load_weights wrong architecture", ModelFileError, "different architecture")(
    lambda: load_weights(MLP(2, [4, 1]), _write("g.json", _doc())))
case("load_weights nan", ModelFileError, "finite")(
    lambda: load_weights(_model(), _write("s.json", _doc(state=_state_with("1.bias", [1e400])))))
case("load_weights missing", FileNotFoundError)(lambda: load_weights(_model(), _path("nope.json")))
case("load_weights ok", "ok")(lambda: load_weights(_model(), _write("g.json", _doc())))
case("from_config(None)", ValueError, "from_config")(lambda: from_config(None))
case("from_config(type=int)", ValueError, "from_config")(lambda: from_config({"type": "int"}))
case("from_config Layer missing nin", ValueError, "from_config")(lambda: from_config({"type": "Layer"}))


def _nan_model():
    m = _model()
    m.parameters()[0].data = math.nan
    return m


def _scaled_model(x):
    m = _model()
    for p in m.parameters():
        p.data = x
    return m


# -- issue 14, items 10 and 11: huge ints, silently accepted input, numpy numbers ----------------------------
HUGE = 10 ** 400
case("SGD(lr=10**400)", ValueError, "SGD: lr = 1000")(lambda: SGD(_v([1.0]), lr=HUGE))
case("Adam(eps=10**400)", ValueError, "Adam: eps = 1000")(lambda: Adam(_v([1.0]), eps=HUGE))
case("fit(lr=10**400)", ValueError, "fit: lr = 1000")(lambda: _fit(lr=HUGE))
case("mse_loss target 10**400", ValueError, "mse_loss: target[0] = 1000")(lambda: L.mse_loss(_v([1.0]), [HUGE]))
case("mse_loss input 10**400", ValueError, "mse_loss: input[0] = 1000")(lambda: L.mse_loss([HUGE], [1.0]))
case("cross_entropy score 10**400", ValueError, "cross_entropy: score [0][1]")(
    lambda: L.cross_entropy([[1.0, HUGE]], [0]))
case("make_moons(noise=10**400)", ValueError, "make_moons: noise = 1000")(lambda: make_moons(10, noise=HUGE))
case("make_moons(seed=nan)", TypeError, "make_moons: seed must be an int")(lambda: make_moons(10, seed=math.nan))
case("make_moons(seed=1.5)", TypeError, "make_moons: seed must be an int")(lambda: make_moons(10, seed=1.5))
case("predict([[10**400, 1]])", ValueError, "MLP.predict: X[0][0] = 1000")(lambda: _model().predict([[HUGE, 1]]))
case("predict([[1.0, '2']])", TypeError, "MLP.predict: X[0][1] must be a number, got str '2'")(
    lambda: _model().predict([[1.0, "2"]]))
case("predict([[True, 1.0]])", TypeError, "MLP.predict: X[0][0] must be a number, got bool")(
    lambda: _model().predict([[True, 1.0]]))
case("predict([{...}])", TypeError, "MLP.predict: X[0] must be a list")(lambda: _model().predict([{"a": 1, "b": 2}]))
case("fit([[1.0, '2']])", TypeError, "fit: X[0][1] must be a number")(lambda: _fit(X=[[1.0, "2"]] + XS[1:]))
case("load_dataset('moons', classes=5)", ValueError, "moons always has 2 classes")(
    lambda: load_dataset("moons", 10, classes=5))
case("load_dataset('moons', classes=2) ok", "ok")(lambda: load_dataset("moons", 10, classes=2))
case("MLP(dropout=nan)", ValueError, "MLP: dropout must be a finite number")(lambda: MLP(2, [1], dropout=math.nan))
case("MLP(dropout=True)", TypeError, "MLP: dropout must be a number, got bool")(lambda: MLP(2, [3, 1], dropout=True))
case("BatchNorm(eps=True)", TypeError, "BatchNorm: eps must be a number, got bool")(lambda: BatchNorm(2, eps=True))
case("BatchNorm(eps=inf)", ValueError, "BatchNorm: eps must be a finite number")(lambda: BatchNorm(2, eps=math.inf))
case("Neuron(fan_out=-2)", ValueError, "Neuron: fan_out must be >= 1")(lambda: Neuron(2, fan_out=-2))


def _numpy_cases():
    np = pytest.importorskip("numpy")
    d = Dropout(np.float32(0.5))
    assert d.p == 0.5 and type(d.p) is float
    assert BatchNorm(np.int64(3), eps=np.float64(1e-3)).num_features == 3
    m = MLP(np.int64(2), [np.int32(3), 1], seed=np.int64(1))
    assert m.nin == 2 and type(m.nin) is int and m.config()["nouts"] == [3, 1]
    assert m.state_dict() == MLP(2, [3, 1], seed=1).state_dict()
    assert SGD(_v([1.0]), lr=np.float32(0.5)).lr == 0.5


def test_numpy_numbers_accepted_as_arguments():
    _numpy_cases()


@pytest.fixture(autouse=True)
def _tmp(tmp_path):
    TMP["dir"] = tmp_path
    yield
    TMP.clear()


@pytest.mark.parametrize("thunk,expect,match", CASES)
def test_bad_input(thunk, expect, match):
    check(thunk, expect, match)


def test_model_untouched_when_load_state_dict_fails():
    m = _model()
    before = m.state_dict()
    bad = MLP(2, [3, 1], seed=7).state_dict()
    bad["1.bias"] = [math.nan]
    with pytest.raises(StateDictError):
        m.load_state_dict(bad)
    assert m.state_dict() == before


def test_matrix_size():
    # keep the count honest: it is reported in the hardening issue's closing note
    assert len(CASES) >= 150
