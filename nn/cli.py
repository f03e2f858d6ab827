"""The ``chainrule`` console script.

    chainrule train --dataset moons --epochs 100 --out runs/moons
    chainrule predict --model runs/moons/model.json 0.5,-1.0 1.0,0.2
    chainrule graph ...          (see ``chainrule graph --help``)

Exit codes: 0 success; 2 bad arguments or values (one-line message);
1 runtime failure such as an unwritable output folder, a missing or
damaged model file (one line); 130 on Ctrl-C.  ``--debug`` shows the full
traceback instead.
"""
from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import re
import sys
import time
from typing import List, Optional

PROG = "chainrule"
# Upper bounds that turn a typo (an extra digit or ten) into a usage error instead of a run that never ends.
MAX_SAMPLES = 1_000_000
MAX_EPOCHS = 1_000_000
MAX_WIDTH = 10_000

# Per-dataset defaults for options left unset.  moons/circles/xor use
# micrograd's demo recipe (full-batch SGD, lr 1.0 -> 0.1 linearly, max-margin
# loss + 1e-4 L2); the multi-class sets use softmax cross-entropy with Adam.
PRESETS = {
    "moons":   dict(samples=100, hidden=[16, 16], loss="hinge", optimizer="sgd", lr=1.0, schedule="linear", l2=1e-4),
    "circles": dict(samples=100, hidden=[16, 16], loss="hinge", optimizer="sgd", lr=1.0, schedule="linear", l2=1e-4),
    "xor":     dict(samples=100, hidden=[16, 16], loss="hinge", optimizer="sgd", lr=1.0, schedule="linear", l2=1e-4),
    "spirals": dict(samples=150, hidden=[16, 16], loss="cross_entropy", optimizer="adam", lr=0.02, schedule="none",
                    l2=0.0),
    "blobs":   dict(samples=150, hidden=[16, 16], loss="cross_entropy", optimizer="adam", lr=0.02, schedule="none",
                    l2=0.0),
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit 2) instead of usage + message, and no prefix
    matching of options (``--data iris.csv`` silently meant ``--dataset``)."""

    dash_hint = ""  # set by main() when an argument starts with '-' but is no option (graph's EXPR)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}{self.dash_hint} (see {self.prog} --help)\n")


# -- argument types: a ValueError/TypeError here becomes argparse's one-line error, exit 2

def _int_at_least(minimum: int, maximum: Optional[int] = None):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {v}")
        if maximum is not None and v > maximum:
            raise argparse.ArgumentTypeError(f"expected an integer <= {maximum:,}, got {text[:30]}")
        return v
    parse.__name__ = f"int>={minimum}"
    return parse


def _float_range(low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = False):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        ok = math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
        if not ok:
            lo = f"{'>' if low_open else '>='} {low:g}"
            hi = "" if high == math.inf else f" and {'<' if high_open else '<='} {high:g}"
            raise argparse.ArgumentTypeError(f"expected a finite number {lo}{hi}, got {text!r}")
        return v
    parse.__name__ = "number"
    return parse


def _hidden(text: str) -> List[int]:
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths like 16,16, got {text!r}") from None
    if not sizes or any(s < 1 or s > MAX_WIDTH for s in sizes):
        raise argparse.ArgumentTypeError(f"expected one or more layer widths >= 1 like 16,16 "
                                         f"(at most {MAX_WIDTH:,} each), got {text!r}")
    return sizes


def _preset_help() -> str:
    lines = ["per-dataset defaults (used for options you do not set):"]
    for name, p in PRESETS.items():
        hid = ",".join(map(str, p["hidden"]))
        lines.append(f"  {name:8s} samples={p['samples']} hidden={hid} loss={p['loss']} optimizer={p['optimizer']} "
                     f"lr={p['lr']:g} schedule={p['schedule']} l2={p['l2']:g}")
    return "\n".join(lines)


def _add_train_parser(subparsers) -> argparse.ArgumentParser:
    from .data import DATASETS
    from .init import INITS
    from .layers import ACTIVATIONS
    from .optim import OPTIMIZERS, SCHEDULES
    from .train import BINARY_LOSSES, MULTICLASS_LOSSES

    p = subparsers.add_parser(
        "train", help="train an MLP on a built-in 2-D dataset and write the model and pictures",
        description="Train an MLP on a built-in 2-D dataset. Prints progress and the final accuracies,\n"
                    "and writes model.json, metrics.json, loss.png, boundary.png and graph.svg into --out.",
        epilog=_preset_help() + "\n\nexample:\n  chainrule train --dataset moons --epochs 100 --out runs/moons",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=list(DATASETS), default="moons", help="which dataset (default: moons)")
    p.add_argument("--samples", type=_int_at_least(4, MAX_SAMPLES), default=None,
                   help="training points (default: per dataset, 100 for moons)")
    p.add_argument("--val-samples", type=_int_at_least(0, MAX_SAMPLES), default=50,
                   help="extra points held out for validation accuracy (default: 50; 0 = none)")
    p.add_argument("--noise", type=_float_range(0.0), default=None,
                   help="noise level of the dataset (default: the dataset's own, 0.1 for moons)")
    p.add_argument("--classes", type=_int_at_least(2, 1000), default=None,
                   help="number of classes for spirals and blobs (default: 3); moons, circles and xor always "
                        "have 2, so any other value is refused for them")
    p.add_argument("--hidden", type=_hidden, default=None, metavar="W1,W2,...",
                   help="hidden layer widths (default: per dataset, 16,16 for moons)")
    p.add_argument("--activation", choices=[a for a in ACTIVATIONS if a != "linear"], default="relu",
                   help="hidden-layer activation (default: relu)")
    p.add_argument("--init", choices=list(INITS), default="auto",
                   help="weight init: auto = kaiming_uniform for relu, xavier_uniform otherwise (default: auto)")
    p.add_argument("--loss", choices=["auto", *BINARY_LOSSES, *MULTICLASS_LOSSES], default=None,
                   help="loss; 2-class datasets take hinge/bce/mse, 3+ classes cross_entropy/multi_margin "
                        "(default: per dataset, or auto = hinge for 2 classes when the dataset's own loss "
                        "does not fit, e.g. blobs with --classes 2)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None, help="optimiser (default: per dataset)")
    p.add_argument("--lr", type=_float_range(0.0, low_open=True), default=None,
                   help="learning rate (default: per dataset; 0.01 for adam/adamw, 0.1 for sgd when "
                        "--optimizer is not the dataset's own)")
    p.add_argument("--schedule", choices=list(SCHEDULES), default=None,
                   help="learning-rate schedule over the epochs: linear = to 0.1x, step = x0.1 every third, "
                        "cosine = to 0 (default: per dataset)")
    p.add_argument("--momentum", type=_float_range(0.0, 1.0, high_open=True), default=0.0,
                   help="SGD momentum (default: 0)")
    p.add_argument("--l2", type=_float_range(0.0), default=None,
                   help="L2 regularisation strength alpha (default: per dataset)")
    p.add_argument("--l1", type=_float_range(0.0), default=0.0, help="L1 regularisation strength (default: 0)")
    p.add_argument("--dropout", type=_float_range(0.0, 1.0, high_open=True), default=0.0,
                   help="dropout probability after each hidden layer (default: 0)")
    p.add_argument("--batchnorm", action="store_true", help="batch normalisation before each hidden activation")
    p.add_argument("--epochs", type=_int_at_least(1, MAX_EPOCHS), default=100, help="passes over the data (default: 100)")
    p.add_argument("--batch-size", type=_int_at_least(0), default=0,
                   help="mini-batch size; 0 = the whole training set, one step per epoch (default: 0)")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="seed for data, init and shuffling (default: 0)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: runs/DATASET)")
    p.add_argument("--no-plots", action="store_true", help="skip loss.png, boundary.png and graph.svg")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show full tracebacks on errors")
    p.set_defaults(func=cmd_train)
    return p


def _point(text: str) -> List[float]:
    """One input point for ``predict``: comma-separated finite numbers, e.g. ``0.5,-1.0``."""
    parts = [p.strip() for p in text.split(",")]
    out = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"point {text!r}: {p!r} is not a number; write points like 0.5,-1.0") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"point {text!r}: {p!r} is not a finite number")
        out.append(v)
    return out


def _add_predict_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "predict", help="print a saved model's output and class for some points",
        description="Load a model saved by `chainrule train` (or nn.save_model) and print, for each POINT,\n"
                    "its output (the score for one-output models, one score per class otherwise) and the\n"
                    "predicted class (score > 0 means class 1; else the argmax).",
        epilog="examples:\n"
               "  chainrule predict --model runs/moons/model.json 0.5,-1.0 1.0,0.2\n"
               "  chainrule predict --model runs/moons/model.json --json -0.3,0.9\n\n"
               "Points are comma-separated numbers, one per model input; points may start with '-'.\n"
               "Exit codes: 2 for bad points/options, 1 for a missing, unreadable or damaged model file.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("points", nargs="*", type=_point, metavar="POINT", help="an input point like 0.5,-1.0")
    p.add_argument("--model", required=True, metavar="PATH", help="the model file (model.json)")
    p.add_argument("--json", action="store_true", help="print one JSON object per point instead of text")
    p.add_argument("--max-bytes", type=_int_at_least(1), default=None, metavar="N",
                   help="refuse model files bigger than N bytes (default: 64 MiB)")
    p.add_argument("--allow-nonfinite", action="store_true",
                   help="load a model even if it holds nan/inf weights (refused by default)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show full tracebacks on errors")
    # "-0.3,0.9" is a point, not an option (argparse only knows plain negative numbers)
    if hasattr(p, "_negative_number_matcher"):
        p._negative_number_matcher = re.compile(r"^-[^-h]")  # -1,2  -.5,1  -inf,0 (rejected later)
    p.set_defaults(func=cmd_predict)
    return p


def cmd_predict(args) -> int:
    from .io import MAX_BYTES, load_model
    from .train import predict_class

    if not args.points:
        raise ValueError("give at least one POINT, e.g. chainrule predict --model model.json 0.5,-1.0")
    if os.path.isdir(args.model):
        raise _Failure(f"--model {args.model!r} is a folder; give the model file, e.g. {args.model}/model.json")
    model = load_model(args.model, max_bytes=args.max_bytes or MAX_BYTES, allow_nonfinite=args.allow_nonfinite)
    nin = getattr(model, "nin", None)
    for pt in args.points:
        if nin is not None and len(pt) != nin:
            raise ValueError(f"point {','.join(f'{v:g}' for v in pt)} has {len(pt)} numbers but the model "
                             f"takes {nin}")
    outputs = model.predict(args.points)
    for pt, out in zip(args.points, outputs):
        cls = predict_class(out)
        point = ",".join(f"{v:g}" for v in pt)
        if args.json:
            # JSON has no inf/nan: a non-finite score is written as null (strict parsers reject Infinity)
            print(json.dumps({"point": pt, "output": _json_number(out), "class": cls}, allow_nan=False), flush=True)
        elif isinstance(out, list):
            print(f"{point}  scores {' '.join(f'{o:.6g}' for o in out)}  class {cls}", flush=True)
        else:
            print(f"{point}  score {out:.6g}  class {cls}", flush=True)
    return 0


def _json_number(x):
    """``x`` (a float or a list of them) with nan/inf as None, so ``json.dumps`` writes valid JSON."""
    if isinstance(x, list):
        return [_json_number(v) for v in x]
    return x if math.isfinite(x) else None


def build_parser() -> argparse.ArgumentParser:
    from engine import __version__
    parser = _Parser(prog=PROG, description="chainrule: a scalar autodiff engine and a small neural-network "
                                            "library. Subcommands: train (the main job), predict, graph.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.subcommands = sub.choices  # name -> subparser, to report stray arguments under the right name
    _add_train_parser(sub)
    _add_predict_parser(sub)
    try:
        from . import cli_graph
        gp = cli_graph.add_parser(sub)
        if gp is not None and "--debug" not in gp._option_string_actions:
            gp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="show full tracebacks on errors")
        # "-x*w" is an expression, not an option: any "-..." that is no option of `graph` is taken
        # as EXPR (argparse consults this only after the real options -o, -h, --at, ... did not match)
        if gp is not None and hasattr(gp, "_negative_number_matcher"):
            gp._negative_number_matcher = re.compile(r"^-[^-]")
    except ImportError:  # the graph subcommand is optional
        pass
    return parser


# ---------------------------------------------------------------------------

class _Failure(Exception):
    """A runtime failure with a one-line message (exit 1)."""


def _say(args, text: str) -> None:
    if not args.quiet:
        print(text, flush=True)


def _warn(text: str) -> None:
    print(f"{PROG} train: warning: {text}", file=sys.stderr, flush=True)


def cmd_train(args) -> int:
    from . import MLP
    from .data import load_dataset, train_val_split
    from .io import atomic_write_text, save_model
    from .optim import OPTIMIZERS, make_scheduler
    from .train import BINARY_LOSSES, DEFAULT_LR, MULTICLASS_LOSSES, evaluate, fit, progress_enabled

    from .data import DATASETS

    preset = PRESETS[args.dataset]
    fixed_k = DATASETS[args.dataset].num_classes
    if args.classes is not None and fixed_k is not None and args.classes != fixed_k:
        raise ValueError(f"--classes applies to --dataset spirals or blobs only; {args.dataset} always has "
                         f"{fixed_k} classes")
    classes = args.classes if args.classes is not None else 3
    samples = args.samples if args.samples is not None else preset["samples"]
    hidden = args.hidden if args.hidden is not None else preset["hidden"]
    opt_name = args.optimizer if args.optimizer is not None else preset["optimizer"]
    lr = args.lr if args.lr is not None else (preset["lr"] if opt_name == preset["optimizer"] else
                                              DEFAULT_LR[opt_name])
    schedule = args.schedule if args.schedule is not None else preset["schedule"]
    l2 = args.l2 if args.l2 is not None else preset["l2"]
    out_dir = args.out if args.out is not None else os.path.join("runs", args.dataset)
    batch_size = args.batch_size or None

    X, y, k = load_dataset(args.dataset, samples + args.val_samples, noise=args.noise,
                           classes=classes if fixed_k is None else None, seed=args.seed)
    if args.val_samples:
        Xtr, ytr, Xval, yval = train_val_split(X, y, args.val_samples / len(X), seed=args.seed)
    else:
        Xtr, ytr, Xval, yval = X, y, [], []
    nout = 1 if k == 2 else k
    fits = BINARY_LOSSES if k == 2 else MULTICLASS_LOSSES
    if args.loss is not None:
        loss = args.loss
    else:  # the dataset's own loss, unless it does not fit this number of classes (blobs --classes 2)
        loss = preset["loss"] if preset["loss"] in fits else "auto"
    if loss == "auto":
        loss = "hinge" if k == 2 else "cross_entropy"
    if loss not in fits:
        raise ValueError(f"--loss {loss} does not fit {args.dataset} ({k} classes); use one of {', '.join(fits)}")
    if args.momentum and opt_name != "sgd":
        raise ValueError(f"--momentum applies to --optimizer sgd only, not {opt_name}")
    if args.batchnorm and batch_size == 1:
        raise ValueError("--batchnorm needs --batch-size of 2 or more (or 0 for the whole set)")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"--out: {out_dir!r} is a file; --out takes a folder")

    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise _Failure(f"cannot create output folder {out_dir!r}: {e.strerror or e}") from None
    if not os.access(out_dir, os.W_OK):
        raise _Failure(f"output folder {out_dir!r} is not writable")

    model = MLP(2, hidden + [nout], args.activation, seed=args.seed, init=args.init,
                dropout=args.dropout, batchnorm=args.batchnorm)
    params = model.parameters()
    opt = OPTIMIZERS[opt_name](params, lr=lr, momentum=args.momentum) if opt_name == "sgd" \
        else OPTIMIZERS[opt_name](params, lr=lr)
    sched = make_scheduler(schedule, opt, args.epochs)
    arch = " -> ".join(str(s) for s in [2] + hidden + [nout])
    _say(args, f"{args.dataset}: {len(Xtr)} training + {len(Xval)} validation points, {k} classes; "
               f"MLP {arch} ({len(params)} parameters), {loss} loss, {opt_name} lr={lr:g} schedule={schedule}"
               f"{f' l2={l2:g}' if l2 else ''}, {args.epochs} epochs, "
               f"{'full batch' if batch_size is None else f'batch size {batch_size}'}")

    every = max(1, args.epochs // 10)
    progress_bar = None if not args.quiet else False  # None: a tqdm bar only on a terminal
    bar_on = progress_enabled(progress_bar)

    def report(epoch: int, rec: dict) -> None:
        if not math.isfinite(rec["loss"]):
            raise _Failure(f"training diverged at epoch {epoch} (loss is {rec['loss']}); try a smaller --lr")
        if args.quiet or bar_on:
            return
        if epoch % every == 0 or epoch == 1 or epoch == args.epochs:
            val = f"  val acc {rec['val_accuracy']:.3f}" if rec["val_accuracy"] is not None else ""
            print(f"epoch {epoch:>{len(str(args.epochs))}}/{args.epochs}  loss {rec['loss']:.4f}  "
                  f"acc {rec['accuracy']:.3f}{val}  lr {rec['lr']:.4g}", flush=True)

    t0 = time.perf_counter()
    history = fit(model, Xtr, ytr, epochs=args.epochs, optimizer=opt, loss=loss, batch_size=batch_size,
                  schedule=sched, l2=l2, l1=args.l1, X_val=Xval or None, y_val=yval or None, seed=args.seed,
                  progress=progress_bar, callback=report)
    seconds = time.perf_counter() - t0
    train_acc = evaluate(model, Xtr, ytr)
    val_acc = evaluate(model, Xval, yval) if Xval else None
    first_full = next((e for e, a in zip(history["epoch"], history["accuracy"]) if a == 1.0), None)

    config = {"dataset": args.dataset, "samples": len(Xtr), "val_samples": len(Xval), "noise": args.noise,
              "classes": k, "hidden": hidden, "activation": args.activation, "init": args.init, "loss": loss,
              "optimizer": opt_name, "lr": lr, "schedule": schedule, "momentum": args.momentum, "l2": l2,
              "l1": args.l1, "dropout": args.dropout, "batchnorm": args.batchnorm, "epochs": args.epochs,
              "batch_size": args.batch_size, "seed": args.seed}  # batch_size 0 = full batch, as in --help
    final = {"train_accuracy": train_acc, "val_accuracy": val_acc, "loss": history["loss"][-1],
             "first_epoch_at_100pct_train_accuracy": first_full, "train_seconds": round(seconds, 3),
             "seconds_per_epoch": round(seconds / args.epochs, 5)}
    paths = {name: os.path.join(out_dir, name) for name in
             ("model.json", "metrics.json", "loss.png", "boundary.png", "graph.svg")}
    try:
        save_model(model, paths["model.json"], metadata={"config": config, "final": final})
        atomic_write_text(paths["metrics.json"], json.dumps(
            {"config": config, "final": final, "history": history}, indent=1, allow_nan=False) + "\n")
    except OSError as e:
        raise _Failure(f"cannot write into {out_dir!r}: {e.strerror or e}") from None
    written = ["model.json", "metrics.json"]
    if not args.no_plots:
        written += _pictures(model, history, Xtr, ytr, Xval, yval, paths, args.dataset)

    val_txt = f", validation accuracy {val_acc:.1%} ({len(Xval)} points)" if val_acc is not None else ""
    # The accuracies are measured on the trained model; the loss is the last epoch's, averaged over
    # its batches before each step (what fit records), so the two are labelled apart.
    print(f"final (after training): train accuracy {train_acc:.1%} ({len(Xtr)} points){val_txt}; "
          f"last epoch loss {history['loss'][-1]:.4f} (mean over the epoch, before each step); "
          f"{args.epochs} epochs in {seconds:.2f} s", flush=True)
    print(f"wrote {', '.join(os.path.join(out_dir, w) for w in written)}", flush=True)
    return 0


def _pictures(model, history, Xtr, ytr, Xval, yval, paths, dataset) -> List[str]:
    written = []
    try:
        import matplotlib  # noqa: F401 - only to fail early with a clear message
    except ImportError:
        _warn("matplotlib is not installed, so no loss.png/boundary.png; pip install 'chainrule[plot]'")
    else:
        from .train import plot_decision_boundary, plot_history
        try:
            plot_history(history, paths["loss.png"], title=f"{dataset}: training curves")
            written.append("loss.png")
            plot_decision_boundary(model, Xtr, ytr, paths["boundary.png"], X_val=Xval or None, y_val=yval or None,
                                   title=f"{dataset}: decision boundary")
            written.append("boundary.png")
        except OSError as e:
            raise _Failure(f"cannot write pictures: {e.strerror or e}") from None
    try:
        _graph_svg(model, Xtr, paths["graph.svg"])
        written.append("graph.svg")
    except Exception as e:  # noqa: BLE001 - the picture is optional: never fail the run for it
        _warn(f"could not draw graph.svg ({type(e).__name__}: {e}); the rest of the run is fine")
    return written


def _graph_svg(model, samples, path: str) -> None:
    """Draw one sample's forward pass through the model's first neuron, with its gradients.

    One neuron keeps the picture readable (the full 2-16-16-1 graph has
    hundreds of nodes): inputs x0, x1, weights w0, w1, bias b, the fused
    dot node, the activation.  The sample is the first one that the neuron
    is active on, so the gradients shown are not all zero.
    """
    from engine import Value, dot
    from engine.draw import draw_dot, render_to_file

    neuron = model.modules[0].neurons[0]
    wb = [p.data for p in neuron.w] + [neuron.b.data]
    sample = next((x for x in samples if sum(w * v for w, v in zip(wb, list(x) + [1.0])) > 0), samples[0])
    xs = [Value(float(v), label=f"x{i}") for i, v in enumerate(sample)]
    ws = [Value(w.data, label=f"w{i}") for i, w in enumerate(neuron.w)]
    b = Value(neuron.b.data, label="b")
    pre = dot(ws + [b], xs + [1.0])
    pre.label = "w.x + b"
    act = neuron.activation
    out = getattr(pre, act)() if act != "linear" else pre
    out.label = f"{act}(w.x + b)" if act != "linear" else out.label
    out.backward()
    render_to_file(draw_dot(out), path)


# ---------------------------------------------------------------------------

def _check_options(parser, argv: List[str]) -> None:
    """Report an unknown ``--option`` of the chosen subcommand first, before argparse's complaints about
    missing arguments (``graph --bogus`` said "EXPR is required"); hint how to pass a graph EXPR that
    starts with '-'."""
    subs = getattr(parser, "subcommands", {})
    cmd = next((t for t in argv if t in subs), None)
    if cmd is None:
        return
    sp = subs[cmd]
    rest = argv[argv.index(cmd) + 1:]
    if "--" in rest:
        rest = rest[:rest.index("--")]
    known = sp._option_string_actions
    takes_value = False
    for t in rest:
        if takes_value:  # the value of the option before it, e.g. --out --odd-name
            takes_value = False
            continue
        name = t.split("=", 1)[0]
        action = known.get(name)
        if action is not None:
            takes_value = "=" not in t and action.nargs != 0
        elif t.startswith("--") and len(t) > 2:
            close = difflib.get_close_matches(name, [o for o in known if o.startswith("--")], n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            sp.error(f"unrecognized option {name!r}{hint}")
        elif cmd == "graph" and t.startswith("-") and len(t) > 1:
            sp.dash_hint = ("; an EXPR that starts with '-' can go after --, e.g. "
                            "chainrule graph --at x=1 -- \"-h*x\"")


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``chainrule`` script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        _check_options(parser, argv)
        args, extra = parser.parse_known_args(argv)
        if extra:
            where = parser.subcommands.get(getattr(args, "command", None) or "", parser)
            where.error(f"unrecognized arguments: {' '.join(extra)}")
        if getattr(args, "func", None) is None:
            parser.error("choose a subcommand: train, predict or graph")
        rc = args.func(args)
        return 0 if rc is None else int(rc)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `chainrule predict ... | head`: the reader has what it wanted
        try:
            sys.stdout = open(os.devnull, "w")  # so the interpreter's final flush does not complain again
        except OSError:
            pass
        return 141
    except Exception as e:  # noqa: BLE001 - the one place that turns errors into exit codes
        if debug:
            raise
        from .io import ModelFileError
        # a damaged model file is a runtime problem (the command line was fine): exit 1
        code = 2 if isinstance(e, (ValueError, TypeError)) and not isinstance(e, ModelFileError) else 1
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, OSError) and e.strerror:
            msg = f"{e.strerror}: {e.filename}" if e.filename else e.strerror
        if not isinstance(e, (_Failure, ValueError, TypeError, OSError)):
            msg = f"{type(e).__name__}: {msg} (rerun with --debug for the traceback)"
        cmd = getattr(locals().get("args"), "command", None)
        print(f"{PROG}{' ' + cmd if cmd else ''}: error: {msg}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
