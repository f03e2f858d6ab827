"""Pictures of training and of predictions, as PNG files: loss/accuracy curves, a decision boundary
(2 features), a confusion matrix, predicted against actual values (regression).

matplotlib is imported lazily and used through the Agg canvas, so no
display and no global pyplot state are needed; files are written atomically.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from engine.fileio import atomic_write

from .metrics import predict_class
from .module import Module


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig, path) -> None:
    import io as _io

    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, buf.getvalue())


def plot_history(history: Dict[str, list], path, *, title: str = "") -> None:
    """Write a PNG with the loss curves (left; validation loss too when recorded) and train/validation
    accuracy (right; classification only)."""
    accuracy = bool(history.get("accuracy"))
    fig = _figure(10 if accuracy else 6, 4)
    axes = fig.subplots(1, 2 if accuracy else 1)
    ax1 = axes[0] if accuracy else axes
    ep = history["epoch"]
    ax1.plot(ep, history["loss"], color="tab:red", label="training (mean over each epoch)")
    losses = list(history["loss"])
    if history.get("val_loss"):
        ax1.plot(ep[:len(history["val_loss"])], history["val_loss"], color="tab:purple", label="validation")
        losses += history["val_loss"]
        ax1.legend(loc="upper right", fontsize=8)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.set_title("loss")
    if min(losses) > 0:
        ax1.set_yscale("log")
    ax1.grid(alpha=0.3)
    if accuracy:
        ax2 = axes[1]
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


def plot_confusion_matrix(matrix: List[List[int]], classes: Sequence[str], path, *, title: str = "") -> None:
    """Write a PNG of a confusion matrix (rows: true class, columns: predicted), counts in the cells and
    each class's accuracy in its row label."""
    k = len(classes)
    size = min(12.0, 3.0 + 0.55 * k)
    fig = _figure(size + 1.5, size)
    ax = fig.subplots()
    peak = max(max(row) for row in matrix) or 1
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=peak)
    for i, row in enumerate(matrix):
        for j, n in enumerate(row):
            if k <= 30:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=8 if k > 12 else 10,
                        color="white" if n > 0.6 * peak else "black")
    labels = [str(c)[:18] for c in classes]
    recalls = [row[i] / sum(row) if sum(row) else float("nan") for i, row in enumerate(matrix)]
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(labels, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center", fontsize=8)
    ax.set_yticklabels([f"{lab} ({r:.0%})" for lab, r in zip(labels, recalls)], fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (accuracy on it)")
    ax.set_title(title or "confusion matrix")
    fig.tight_layout()
    _save_png(fig, path)


def plot_predicted_vs_actual(y_true: Sequence[float], y_pred: Sequence[float], path, *, title: str = "",
                             label: str = "target") -> None:
    """Write a PNG scatter of predicted against actual values, with the y = x line of perfect predictions."""
    fig = _figure(5.6, 5.2)
    ax = fig.subplots()
    lo = min(min(y_true), min(y_pred))
    hi = max(max(y_true), max(y_pred))
    pad = (hi - lo) * 0.05 or 1.0
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="grey", linewidth=1, label="perfect")
    ax.scatter(list(y_true), list(y_pred), s=16, alpha=0.7, edgecolors="k", linewidths=0.3)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(f"actual {label}")
    ax.set_ylabel(f"predicted {label}")
    ax.set_title(title or "predicted vs actual")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
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
