"""``fit()``: the training loop, with mini-batches, per-epoch history and a progress bar.

>>> from nn import MLP
>>> from nn.data import make_moons
>>> from nn.train import fit
>>> X, y = make_moons(40, seed=0)
>>> history = fit(MLP(2, [8, 1], seed=0), X, y, epochs=3, progress=False)
>>> sorted(history)
['accuracy', 'epoch', 'loss', 'lr', 'val_accuracy']
"""
from __future__ import annotations

import random
import sys
from typing import Callable, Dict, List, Optional, Sequence, Union

from engine import Value, gc_paused, no_grad

from . import losses as L
from .checks import as_list, check_samples, class_index, integer, real
from .layers import BatchNorm
from .module import Module
from .optim import OPTIMIZERS, LRScheduler, Optimizer, make_scheduler

# fit()'s learning rates when none is given: toy 2-D problems with a few
# hundred steps want bigger steps than torch's Adam default of 1e-3 (measured:
# Adam at 1e-3 reaches 87% on moons in 100 full-batch epochs, at 1e-2 100%).
DEFAULT_LR = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01}
BINARY_LOSSES = ("hinge", "bce", "mse")
MULTICLASS_LOSSES = ("cross_entropy", "multi_margin")


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


def accuracy(outputs: Sequence, labels: Sequence[int]) -> float:
    """Fraction of correct predictions: ``score > 0`` means class 1 for one-output models,
    else the argmax.  ``outputs`` may be Values or floats (or lists of them).

    >>> accuracy([0.3, -1.0, 2.0], [1, 0, 0])
    0.6666666666666666
    """
    if len(outputs) != len(labels):
        raise ValueError(f"accuracy: got {len(outputs)} outputs but {len(labels)} labels")
    if not outputs:
        return float("nan")
    return sum(predict_class(o) == t for o, t in zip(outputs, labels)) / len(outputs)


def predict_class(output) -> int:
    """Class index of one output: binary by sign, multi-class by argmax."""
    if isinstance(output, (list, tuple)):
        vals = [o.data if isinstance(o, Value) else o for o in output]
        return max(range(len(vals)), key=vals.__getitem__)
    return 1 if (output.data if isinstance(output, Value) else output) > 0 else 0


def evaluate(model: Module, X: Sequence, y: Sequence) -> float:
    """Accuracy of ``model`` on ``(X, y)`` in eval mode, without building a graph."""
    if not len(X):
        raise ValueError("evaluate: got an empty dataset")
    return accuracy(model.predict(X), y)


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


def progress_enabled(progress: Optional[bool]) -> bool:
    """Whether ``fit(progress=...)`` draws a bar: ``None`` means only when stdout and stderr are terminals."""
    if progress is not None:
        return bool(progress)
    try:  # a bar only for people watching a terminal; logs and pipes stay clean
        return bool(sys.stdout.isatty() and sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def fit(model: Module, X: Sequence, y: Sequence, *, epochs: int = 100,
        optimizer: Union[str, Optimizer] = "adam", lr: Optional[float] = None,
        loss: Union[str, Callable] = "auto", batch_size: Optional[int] = None,
        schedule: Union[str, LRScheduler, None] = "none", l2: float = 0.0, l1: float = 0.0,
        X_val: Optional[Sequence] = None, y_val: Optional[Sequence] = None, seed: Optional[int] = 0,
        progress: Optional[bool] = None, callback: Optional[Callable[[int, dict], None]] = None
        ) -> Dict[str, list]:
    """Train ``model`` on ``(X, y)``; return the per-epoch history.

    * ``X``: samples, each a list of numbers (any ``numbers.Real``: numpy arrays work).
    * ``y``: int class labels (0/1 -- or -1/+1 -- for one-output models, 0..K-1 for K >= 2
      outputs; a 2-output model is a 2-class softmax).  Any ``numbers.Integral`` but bool.
    * ``optimizer``: an ``Optimizer`` on ``model.parameters()`` (or a subset of them, to
      freeze the rest; ValueError if it holds parameters of another model), or
      ``"sgd"``/``"adam"``/``"adamw"`` with ``lr`` (default: 0.01 for adam/adamw, 0.1 for
      sgd; see ``DEFAULT_LR``).
    * ``loss``: ``"auto"`` (hinge for one output, cross_entropy for 2+), ``"hinge"``,
      ``"bce"``, ``"mse"`` (one output), ``"cross_entropy"``, ``"multi_margin"`` (2+
      outputs), or ``fn(outputs, labels) -> Value``.
    * ``batch_size``: ``None`` = full batch; batches are reshuffled each epoch
      from ``random.Random(seed)``.
    * ``schedule``: ``"none"``, ``"step"``, ``"linear"``, ``"cosine"`` over ``epochs``, or
      an ``LRScheduler``; stepped once per epoch.
    * ``l2``/``l1``: regularisation strength added to every batch's loss.
    * ``progress``: tqdm bar (drawn on stderr); ``None`` = only when stdout and stderr are
      both terminals, so logs and pipes stay clean.
    * ``callback(epoch, record)`` after every epoch (``record`` holds that epoch's numbers).

    History: ``epoch``, ``loss`` (mean batch loss incl. regularisation),
    ``accuracy`` (of the predictions made during the epoch, before each
    step, as micrograd's demo reports), ``val_accuracy`` (eval mode, after
    the epoch; empty without validation data) and ``lr``.
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

    nout = _num_outputs(model, X[0])
    y = _check_labels(y, nout, where)
    has_val = X_val is not None and y_val is not None and len(X_val) > 0
    if has_val:
        X_val = check_samples(as_list(X_val, "X_val", where), "X_val", where, width=len(X[0]))
        if len(X_val) != len(y_val):
            raise ValueError(f"{where}: X_val and y_val must have the same length, got {len(X_val)} and {len(y_val)}")
        y_val = _check_labels(list(y_val), nout, where + " (validation)")
    loss_fn = _make_loss(loss, nout, where)

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
        if lr is not None:
            opt.lr = float(lr)
    elif optimizer in OPTIMIZERS:
        opt = OPTIMIZERS[optimizer](params, lr=DEFAULT_LR[optimizer] if lr is None else lr)
    else:
        raise ValueError(f"{where}: optimizer must be an Optimizer or one of {', '.join(OPTIMIZERS)}, "
                         f"got {optimizer!r}")
    if isinstance(schedule, LRScheduler):
        sched = schedule
    elif schedule is None:
        sched = None
    else:
        sched = make_scheduler(schedule, opt, epochs)

    rng = random.Random(seed)
    n = len(X)
    bs = n if batch_size is None else min(batch_size, n)
    history: Dict[str, list] = {"epoch": [], "loss": [], "accuracy": [], "val_accuracy": [], "lr": []}

    bar = None
    epoch_iter = range(1, epochs + 1)
    if progress_enabled(progress):
        try:
            from tqdm.auto import tqdm  # lazy: `import nn` must stay fast
        except ImportError:
            tqdm = None
        if tqdm is not None:
            bar = tqdm(epoch_iter, desc="train", unit="epoch", leave=True)
            epoch_iter = bar

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
                correct += sum(predict_class(o) == t for o, t in zip(out, yb))
            if sched is not None:
                sched.step()
            record = {"epoch": epoch, "loss": total_loss / n, "accuracy": correct / n, "lr": lr_now,
                      "val_accuracy": evaluate(model, X_val, y_val) if has_val else None}
            for key in ("epoch", "loss", "accuracy", "lr"):
                history[key].append(record[key])
            if has_val:
                history["val_accuracy"].append(record["val_accuracy"])
            if bar is not None:
                post = {"loss": f"{record['loss']:.4f}", "acc": f"{record['accuracy']:.3f}"}
                if has_val:
                    post["val"] = f"{record['val_accuracy']:.3f}"
                bar.set_postfix(post, refresh=False)
            if callback is not None:
                callback(epoch, record)
    finally:
        if bar is not None:
            bar.close()
    return history


# ---------------------------------------------------------------------------
# Pictures (matplotlib, imported lazily and used through the Agg canvas, so
# no display and no global pyplot state are needed).

def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig, path) -> None:
    import io as _io

    from .io import atomic_write_bytes
    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())


def plot_history(history: Dict[str, list], path, *, title: str = "") -> None:
    """Write a PNG with the loss curve (left) and train/validation accuracy (right)."""
    fig = _figure(10, 4)
    ax1, ax2 = fig.subplots(1, 2)
    ep = history["epoch"]
    ax1.plot(ep, history["loss"], color="tab:red")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.set_title("training loss")
    if min(history["loss"]) > 0:
        ax1.set_yscale("log")
    ax1.grid(alpha=0.3)
    ax2.plot(ep, history["accuracy"], label="train")
    if history.get("val_accuracy"):
        ax2.plot(ep[:len(history["val_accuracy"])], history["val_accuracy"], label="validation")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_title("accuracy")
    ax2.grid(alpha=0.3)
    ax2.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save_png(fig, path)


def plot_decision_boundary(model: Module, X: Sequence, y: Sequence, path, *, X_val: Optional[Sequence] = None,
                           y_val: Optional[Sequence] = None, resolution: int = 80, title: str = "") -> None:
    """Write a PNG of the model's predicted class over the plane, with the data points on top
    (training points as dots, validation points as crosses)."""
    pts = list(X) + (list(X_val) if X_val is not None else [])
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    pad_x = (max(xs) - min(xs)) * 0.1 + 0.1
    pad_y = (max(ys) - min(ys)) * 0.1 + 0.1
    x0, x1, y0, y1 = min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y
    gx = [x0 + (x1 - x0) * i / (resolution - 1) for i in range(resolution)]
    gy = [y0 + (y1 - y0) * j / (resolution - 1) for j in range(resolution)]
    grid = [[a, b] for b in gy for a in gx]
    preds = [predict_class(o) for o in model.predict(grid)]
    Z = [preds[j * resolution:(j + 1) * resolution] for j in range(resolution)]
    k = max(max(preds), max(y) if len(y) else 0) + 1
    k = max(k, 2)

    fig = _figure(6, 5.4)
    ax = fig.subplots()
    cmap = "coolwarm" if k == 2 else "viridis"
    import matplotlib
    cm = matplotlib.colormaps[cmap]
    for c in range(k):
        # one filled region per class: a single contourf over class ids would
        # interpolate through the ids in between (a fake class-1 band on 0|2 borders)
        mask = [[1.0 if z == c else 0.0 for z in row] for row in Z]
        if any(any(r) for r in mask):
            ax.contourf(gx, gy, mask, levels=[0.5, 1.5], colors=[cm(c / (k - 1))], alpha=0.35)
    ax.scatter([p[0] for p in X], [p[1] for p in X], c=list(y), cmap=cmap, vmin=0, vmax=k - 1,
               s=22, edgecolors="k", linewidths=0.5, label="train")
    if X_val is not None and len(X_val):
        ax.scatter([p[0] for p in X_val], [p[1] for p in X_val], c=list(y_val), cmap=cmap, vmin=0, vmax=k - 1,
                   s=30, marker="X", edgecolors="k", linewidths=0.4, label="validation")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title(title or "decision boundary")
    fig.tight_layout()
    _save_png(fig, path)
