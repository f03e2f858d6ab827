"""``fit()``: the training loop, with mini-batches, per-epoch history and a progress bar.

>>> from nn import MLP
>>> from nn.data import make_moons
>>> from nn.train import fit
>>> X, y = make_moons(40, seed=0)
>>> history = fit(MLP(2, [8, 1], seed=0), X, y, epochs=3, progress=False)
>>> sorted(history)
['accuracy', 'epoch', 'loss', 'lr', 'val_accuracy', 'val_loss']
"""
from __future__ import annotations

import math
import random
import sys
from typing import Callable, Dict, List, Optional, Sequence, Union

from engine import Value, gc_paused, no_grad

from . import losses as L
from .checks import as_list, check_samples, choice, class_index, integer, real
from .layers import BatchNorm
from .metrics import accuracy, class_or_none, predict_class
from .module import Module
from .optim import OPTIMIZERS, LRScheduler, Optimizer, make_scheduler
from .tabular import TabularModel

# fit()'s learning rates when none is given: toy 2-D problems with a few
# hundred steps want bigger steps than torch's Adam default of 1e-3 (measured:
# Adam at 1e-3 reaches 87% on moons in 100 full-batch epochs, at 1e-2 100%).
DEFAULT_LR = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01}
BINARY_LOSSES = ("hinge", "bce", "mse")
MULTICLASS_LOSSES = ("cross_entropy", "multi_margin")
REGRESSION_LOSSES = ("mse", "l1", "huber")
TASKS = ("classification", "regression")
__all__ = ["fit", "evaluate", "accuracy", "predict_class", "plot_history", "plot_decision_boundary"]


def _num_outputs(model: Module, x) -> int:
    with no_grad():
        was = model.training
        model.eval()  # a single sample must work even with BatchNorm
        try:
            out = model(x)
        finally:
            model.train(was)
    return len(out) if isinstance(out, list) else 1


def _check_labels(y: Sequence, nout: int, where: str) -> List[int]:
    """Labels as Python ints: 0/1 for one-output models (-1/+1 are mapped to 0/1), 0..nout-1 otherwise.

    Any ``numbers.Integral`` but bool is accepted (numpy ints too), and integral floats such as 1.0.
    """
    out = []
    for i, v in enumerate(y):
        t = class_index(v)  # an integral number as a Python int, else None (bools too)
        if t is None:
            raise TypeError(f"{where}: y[{i}] must be an int class label, got {type(v).__name__} {v!r}")
        out.append(t)
    k = 2 if nout == 1 else nout
    if nout == 1 and all(t in (-1, 1) for t in out) and -1 in out:
        out = [(t + 1) // 2 for t in out]
    for i, t in enumerate(out):
        if not 0 <= t < k:
            raise ValueError(f"{where}: y[{i}] = {t} is not a class label in 0..{k - 1} "
                             f"(the model has {'1 output: binary labels 0/1' if nout == 1 else f'{k} outputs'})")
    return out


def evaluate(model: Module, X: Sequence, y: Sequence) -> float:
    """Accuracy of ``model`` on ``(X, y)`` in eval mode, without building a graph.

    >>> from nn import MLP
    >>> evaluate(MLP(2, [3, 1], seed=0), [[0.0, 1.0], [1.0, 0.0]], [0, 1]) in (0.0, 0.5, 1.0)
    True
    """
    if not len(X):
        raise ValueError("evaluate: got an empty dataset")
    outputs = model.predict(X)
    nout = len(outputs[0]) if isinstance(outputs[0], list) else 1
    return accuracy(outputs, _check_labels(y, nout, "evaluate"))  # -1/+1 labels mapped, as fit does


def _check_targets(y: Sequence, where: str) -> List[float]:
    """Regression targets as finite floats, naming the first bad one."""
    return [real(v, f"y[{i}]", where) for i, v in enumerate(y)]


def _regression_loss(loss, nout: int, where: str) -> Callable:
    if callable(loss):
        return loss
    if nout != 1:
        raise ValueError(f"{where}: regression needs a model with one output, this one has {nout}")
    if loss == "auto":
        loss = "mse"
    if loss not in REGRESSION_LOSSES:
        raise ValueError(f"{where}: loss {loss!r} does not fit regression; use one of "
                         f"{', '.join(REGRESSION_LOSSES)} or pass a function")
    return {"mse": L.mse_loss, "l1": L.l1_loss, "huber": L.huber_loss}[loss]


def _make_loss(loss, nout: int, where: str) -> Callable:
    """A function (outputs, int labels) -> Value for the loss name (or callable).

    Binary losses fit one-output models only; multi-class losses any model with 2+ outputs
    (a 2-output model is a 2-class softmax).
    """
    if callable(loss):
        return loss
    if loss == "auto":
        loss = "hinge" if nout == 1 else "cross_entropy"
    if nout == 1 and loss in BINARY_LOSSES:
        if loss == "hinge":
            return lambda out, yb: L.hinge_loss(out, [2 * t - 1 for t in yb])
        if loss == "mse":
            return lambda out, yb: L.mse_loss(out, [2 * t - 1 for t in yb])
        return lambda out, yb: L.binary_cross_entropy_with_logits(out, yb)
    if nout >= 2 and loss in MULTICLASS_LOSSES:
        fn = L.cross_entropy if loss == "cross_entropy" else L.multi_margin_loss
        return lambda out, yb: fn(out, yb)
    known = BINARY_LOSSES + MULTICLASS_LOSSES + ("auto",)
    if loss not in known:
        raise ValueError(f"{where}: unknown loss {loss!r}; choose one of {', '.join(known)} or pass a function")
    kind = "one output (binary)" if nout == 1 else f"{nout} outputs"
    fits = BINARY_LOSSES if nout == 1 else MULTICLASS_LOSSES
    raise ValueError(f"{where}: loss {loss!r} does not fit a model with {kind}; use one of {', '.join(fits)}")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where stdout is not a terminal but a bar still shows)."""
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell is not None else None
    except Exception:  # noqa: BLE001 - any failure means "not a notebook"
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def progress_enabled(progress: Optional[bool]) -> bool:
    """Whether ``fit(progress=...)`` draws a bar: ``None`` means when stdout and stderr are terminals,
    or in a Jupyter notebook; logs and pipes stay clean."""
    if progress is not None:
        return bool(progress)
    if in_notebook():
        return True
    try:
        return bool(sys.stdout.isatty() and sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def _progress_bar(epochs: int):
    """A tqdm bar over the epochs, or None without tqdm.  In a notebook without ipywidgets, tqdm.auto
    would print "IProgress not found" and no bar: use the text bar instead."""
    try:
        if in_notebook():
            try:
                import ipywidgets  # noqa: F401 - only to know whether the widget bar can draw
                from tqdm.auto import tqdm
            except ImportError:
                from tqdm.std import tqdm
        else:
            from tqdm.auto import tqdm  # lazy: `import nn` must stay fast
    except ImportError:
        return None
    return tqdm(range(1, epochs + 1), desc="train", unit="epoch", leave=True)


def epoch_line(record: dict, epochs: int) -> str:
    """One progress line for an epoch's record (``fit(verbose=...)`` and the CLI print it)."""
    parts = [f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}", f"loss {record['loss']:.4f}"]
    if record.get("accuracy") is not None:
        parts.append(f"acc {record['accuracy']:.3f}")
    if record.get("val_accuracy") is not None:
        parts.append(f"val acc {record['val_accuracy']:.3f}")
    if record.get("val_loss") is not None:
        parts.append(f"val loss {record['val_loss']:.4f}")
    parts.append(f"lr {record['lr']:.4g}")
    return "  ".join(parts)


def fit(model: Module, X: Sequence, y: Sequence, *, epochs: int = 100,
        optimizer: Union[str, Optimizer] = "adam", lr: Optional[float] = None,
        loss: Union[str, Callable] = "auto", batch_size: Optional[int] = None,
        schedule: Union[str, LRScheduler, None] = "none", l2: float = 0.0, l1: float = 0.0,
        X_val: Optional[Sequence] = None, y_val: Optional[Sequence] = None, seed: Optional[int] = 0,
        progress: Optional[bool] = None, callback: Optional[Callable[[int, dict], None]] = None,
        task: str = "classification", verbose: int = 0, restore_best: bool = False,
        compile: bool = False) -> Dict[str, list]:  # noqa: A002 - torch.compile's name
    """Train ``model`` on ``(X, y)``; return the per-epoch history.

    * ``X``: samples, each a list of numbers (any ``numbers.Real``: numpy arrays work).
    * ``y``: int class labels (0/1 -- or -1/+1 -- for one-output models, 0..K-1 for K >= 2
      outputs; a 2-output model is a 2-class softmax).  Any ``numbers.Integral`` but bool,
      and floats that hold integers (``1.0``, as pandas and numpy often give them).  With
      ``task="regression"``: finite numbers, for a one-output model.
    * ``task``: ``"classification"`` (default) or ``"regression"``.
    * ``optimizer``: an ``Optimizer`` on ``model.parameters()`` (or a subset of them, to
      freeze the rest; ValueError if it holds parameters of another model), or
      ``"sgd"``/``"adam"``/``"adamw"`` with ``lr`` (default: 0.01 for adam/adamw, 0.1 for
      sgd; see ``DEFAULT_LR``).
    * ``loss``: ``"auto"`` (hinge for one output, cross_entropy for 2+, mse for
      regression), ``"hinge"``, ``"bce"``, ``"mse"`` (one output), ``"cross_entropy"``,
      ``"multi_margin"`` (2+ outputs), ``"mse"``/``"l1"``/``"huber"`` (regression), or
      ``fn(outputs, targets) -> Value``.
    * ``batch_size``: ``None`` or ``0`` = full batch; batches are reshuffled each epoch
      from ``random.Random(seed)``.
    * ``schedule``: ``"none"``, ``"step"``, ``"linear"``, ``"cosine"`` over ``epochs``, or
      an ``LRScheduler``; stepped once per epoch.
    * ``l2``/``l1``: regularisation strength added to every batch's loss.
    * ``progress``: tqdm bar (drawn on stderr); ``None`` = when stdout and stderr are
      both terminals, or in Jupyter (``tqdm.auto``; a text bar without ipywidgets), so logs
      and pipes stay clean.
    * ``verbose=N``: print one line every N epochs (and the first and last) when no bar is
      drawn: for scripts whose output goes to a log (``True`` = every epoch, ``False`` = 0).
    * ``restore_best``: with validation data, end with the weights of the epoch whose
      validation loss was lowest (early stopping without stopping: small tables overfit).
    * ``callback(epoch, record)`` after every epoch (``record`` holds that epoch's numbers).
    * A ``TabularModel`` doing regression with a built-in loss trains its net on
      standardised features and targets, so ``loss``/``val_loss`` are in standard
      deviations of the target, as are huber's delta and the l1/l2 strengths relative to
      it (a target in dollars does not scale the gradients); a loss function of your own
      gets the outputs and targets in the target's units.
    * ``compile=True``: record the training step once per chunk size (a batch runs in
      chunks of up to 64 samples) and replay it (``engine.compile_graph``, see
      ``nn/compiled.py``): built-in losses only, no Dropout or BatchNorm; losses and
      gradients equal eager training's to rounding.  A module of your own must
      build the same graph for every sample: a forward that branches on
      ``.data`` (``if h.data > 0``, Python's ``max`` over Values) is replayed
      with the branch it took when recorded; write it with ``relu``/``abs``.

    History: ``epoch``, ``loss`` (mean batch loss incl. regularisation),
    ``accuracy`` (of the predictions made during the epoch, before each
    step, as micrograd's demo reports), ``val_accuracy`` (eval mode, after
    the epoch; empty without validation data), ``val_loss`` (eval mode,
    without regularisation; empty without validation data) and ``lr``.
    Regression history has no accuracies.

    >>> from nn import MLP
    >>> h = fit(MLP(1, [8, 1], seed=0), [[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0], task="regression", epochs=2,
    ...         progress=False)
    >>> sorted(h)
    ['epoch', 'loss', 'lr', 'val_loss']
    """
    where = "fit"
    if not isinstance(model, Module):
        raise TypeError(f"{where}: model must be an nn.Module, got {type(model).__name__}")
    epochs = integer(epochs, "epochs", where, minimum=1)
    X, y = as_list(X, "X", where), as_list(y, "y", where)
    if not X:
        raise ValueError(f"{where}: got an empty training set")
    if len(X) != len(y):
        raise ValueError(f"{where}: X and y must have the same length, got {len(X)} and {len(y)}")
    X = check_samples(X, "X", where, width=getattr(model, "nin", None))
    if lr is not None:
        lr = real(lr, "lr", where, minimum=0.0)
    if callback is not None and not callable(callback):
        raise TypeError(f"{where}: callback must be a function (epoch, record), got {type(callback).__name__}")
    if batch_size is not None:
        batch_size = integer(batch_size, "batch_size", where, minimum=0) or None  # 0 = full batch, as on the CLI
    l2, l1 = real(l2, "l2", where, minimum=0.0), real(l1, "l1", where, minimum=0.0)
    regression = choice(task, TASKS, "task", where) == "regression"
    if type(verbose) is bool:  # verbose=True/False as in Keras and scikit-learn: every epoch / silent
        verbose = int(verbose)
    verbose = integer(verbose, "verbose", where, minimum=0)

    nout = _num_outputs(model, X[0])
    targets = _check_targets if regression else (lambda v, w: _check_labels(v, nout, w))
    y = targets(y, where)
    has_val = X_val is not None and y_val is not None and len(X_val) > 0
    if has_val:
        X_val = check_samples(as_list(X_val, "X_val", where), "X_val", where, width=len(X[0]))
        y_val = as_list(y_val, "y_val", where)
        if len(X_val) != len(y_val):
            raise ValueError(f"{where}: X_val and y_val must have the same length, got {len(X_val)} and {len(y_val)}")
        y_val = targets(y_val, where + " (validation)")
    if regression and isinstance(model, TabularModel) and not callable(loss):
        # Train its net on standardised features and targets: a loss in the target's units scales
        # the gradients by its variance (SGD diverged on prices ~3e5, and squares of 1e160 overflow).
        X, y = _standardized(model, X, y)
        if has_val:
            X_val, y_val = _standardized(model, X_val, y_val)
        model = model.net
    loss_fn = _regression_loss(loss, nout, where) if regression else _make_loss(loss, nout, where)
    if type(compile) is not bool:
        raise TypeError(f"{where}: compile must be True or False, got {compile!r}")
    steps = None
    if compile:
        from .compiled import CompiledSteps, check_compilable
        if callable(loss):
            raise ValueError(f"{where}: compile=True needs a built-in loss (a name), not a function: the "
                             f"compiled step writes the loss without branching on the data")
        check_compilable(model, where)
        steps = CompiledSteps(model, loss, nout, regression, l2, l1)

    params = model.parameters()
    if isinstance(optimizer, Optimizer):
        opt = optimizer
        mine = {id(p) for p in params}
        foreign = sum(id(p) not in mine for p in opt.params)
        if foreign:
            raise ValueError(f"{where}: the optimizer holds {foreign} parameter{'s' if foreign != 1 else ''} that "
                             f"{'are' if foreign != 1 else 'is'} not the model's (of its {len(opt.params)}); "
                             f"fit would not train the model: build it as "
                             f"{type(opt).__name__}(model.parameters(), ...)")
    elif optimizer in OPTIMIZERS:
        opt = OPTIMIZERS[optimizer](params, lr=DEFAULT_LR[optimizer] if lr is None else lr)
    else:
        raise ValueError(f"{where}: optimizer must be an Optimizer or one of {', '.join(OPTIMIZERS)}, "
                         f"got {optimizer!r}")
    if isinstance(schedule, LRScheduler):
        if schedule.optimizer is not opt:
            raise ValueError(f"{where}: the schedule drives another optimizer than the one fit trains with; "
                             f"build it on that optimizer (and pass both)")
        sched = schedule
    elif schedule is None:
        sched = None
    else:
        sched = make_scheduler(schedule, opt, epochs)

    rng = random.Random(seed)
    n = len(X)
    bs = n if batch_size is None else min(batch_size, n)
    scores = ("val_loss",) if regression else ("accuracy", "val_accuracy", "val_loss")
    if type(restore_best) is not bool:
        raise TypeError(f"{where}: restore_best must be True or False, got {restore_best!r}")
    if isinstance(optimizer, Optimizer) and lr is not None:  # (changed once every argument is checked)
        opt.lr = float(lr)
        if sched is not None:  # the schedule goes on from this lr (a warm-up built before fit
            sched.rebase(opt.lr)  # lowered the optimiser's lr already)
    best = (math.inf, None)  # (validation loss, state_dict)
    history: Dict[str, list] = {"epoch": [], "loss": [], **{k: [] for k in scores}, "lr": []}

    bar = _progress_bar(epochs) if progress_enabled(progress) else None
    epoch_iter = bar if bar is not None else range(1, epochs + 1)

    idx = list(range(n))
    starts = list(range(0, n, bs))
    if len(starts) > 1 and n - starts[-1] == 1 and any(isinstance(m, BatchNorm) for _, m in model.named_modules()):
        starts.pop()  # BatchNorm cannot normalise a batch of one: fold the last sample into the previous batch
    ends = starts[1:] + [n]
    model.train()
    try:
        for epoch in epoch_iter:
            if bs < n:
                rng.shuffle(idx)
            total_loss = 0.0
            correct = 0
            lr_now = opt.lr
            for s, e in zip(starts, ends):
                part = idx[s:e]
                xb = [X[i] for i in part]
                yb = [y[i] for i in part]
                if steps is not None:  # compile=True: the batch size's recorded step, replayed
                    opt.zero_grad()
                    value, out = steps(xb, yb)
                    opt.step()
                    total_loss += value * len(part)
                    if not regression:
                        correct += sum(class_or_none(o) == t for o, t in zip(out, yb))  # as accuracy(): nan is wrong
                    continue
                # The graph has no reference cycles, so the cyclic GC only
                # re-scans thousands of fresh nodes for nothing: pause it for
                # the step (reference counting still frees each graph).
                with gc_paused():
                    out = model.forward_batch(xb)
                    batch_loss = loss_fn(out, yb)
                    if l2:
                        batch_loss = batch_loss + L.l2_regularization(params, l2)
                    if l1:
                        batch_loss = batch_loss + L.l1_regularization(params, l1)
                    if not isinstance(batch_loss, Value):
                        raise TypeError(f"{where}: the loss function must return a Value, "
                                        f"got {type(batch_loss).__name__}")
                    opt.zero_grad()
                    batch_loss.backward()
                    opt.step()
                total_loss += batch_loss.data * len(part)
                if not regression:
                    correct += sum(class_or_none(o) == t for o, t in zip(out, yb))  # as accuracy(): nan is wrong
            if sched is not None:
                sched.step()
            record = {"epoch": epoch, "loss": total_loss / n, "lr": lr_now,
                      "val_loss": _eval_loss(model, loss_fn, X_val, y_val) if has_val else None}
            if not regression:
                record["accuracy"] = correct / n
                record["val_accuracy"] = evaluate(model, X_val, y_val) if has_val else None
            if restore_best and has_val and record["val_loss"] < best[0]:
                best = (record["val_loss"], model.state_dict())
            for key in history:
                if record[key] is not None:
                    history[key].append(record[key])
            if bar is not None:
                post = {"loss": f"{record['loss']:.4f}"}
                if not regression:
                    post["acc"] = f"{record['accuracy']:.3f}"
                val = record.get("val_accuracy", record.get("val_loss"))
                if val is not None:
                    post["val"] = f"{val:.4g}"
                bar.set_postfix(post, refresh=False)
            elif verbose and (epoch % verbose == 0 or epoch in (1, epochs)):
                print(epoch_line(record, epochs), flush=True)
            if callback is not None:
                callback(epoch, record)
    finally:
        if bar is not None:
            bar.close()
    if best[1] is not None:
        model.load_state_dict(best[1])
    return history


def _standardized(model, X: list, y: list) -> tuple:
    """A TabularModel's rows as its net sees them, and targets on the same scale: (y - mean) / std."""
    m, s = model.target_mean[0], model.target_std[0]
    return [model.standardize(x) for x in X], [(t - m) / s for t in y]


def _eval_loss(model: Module, loss_fn: Callable, X: list, y: list) -> float:
    """The loss on (X, y) in eval mode, without a graph (validation loss)."""
    was = model.training
    model.eval()
    try:
        with no_grad():
            return loss_fn(model.forward_batch(X), y).data
    finally:
        model.train(was)


# the pictures moved to nn.plots; importable from here as before
from .plots import plot_decision_boundary, plot_history  # noqa: E402
