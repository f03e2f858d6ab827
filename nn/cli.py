"""The ``chainrule`` console script.

    chainrule train --dataset moons --epochs 100 --out runs/moons
    chainrule train --csv data.csv --target price              (your own table; nn/cli_table.py)
    chainrule train --dataset iris                            (scikit-learn's copy; the datasets extra)
    chainrule predict --model runs/moons/model.json 0.5,-1.0 1.0,0.2
    chainrule predict --model runs/iris/model.json --csv new.csv -o out.csv   (nn/cli_predict.py)
    chainrule graph ...          (see ``chainrule graph --help``; nn/cli_graph.py)

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
import stat
import sys
import time
from typing import List, Optional

from .cli_args import (
    MAX_EPOCHS, MAX_SAMPLES, PROG, Failure, column_names, float_range, graph_svg, int_at_least, layer_widths, warn,
)

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


def _preset_help() -> str:
    lines = ["per-dataset defaults (used for options you do not set):"]
    for name, p in PRESETS.items():
        hid = ",".join(map(str, p["hidden"]))
        lines.append(f"  {name:8s} samples={p['samples']} hidden={hid} loss={p['loss']} optimizer={p['optimizer']} "
                     f"lr={p['lr']:g} schedule={p['schedule']} l2={p['l2']:g}")
    return "\n".join(lines)


def _dataset_name(text: str) -> str:
    """--dataset: a built-in name; a file name gets pointed at --csv instead of argparse's bare 'invalid choice'."""
    from .data import DATASETS, REAL_DATASETS
    names = [*DATASETS, *REAL_DATASETS]
    if text in names:
        return text
    if text.lower().endswith((".csv", ".tsv", ".txt")) or os.path.sep in text or os.path.exists(text):
        raise argparse.ArgumentTypeError(f"{text!r} looks like a file; to train on your own CSV use "
                                         f"--csv {text} --target COLUMN")
    raise argparse.ArgumentTypeError(f"unknown data set {text!r}; choose one of {', '.join(names)}, "
                                     f"or --csv FILE --target COLUMN")


def _add_train_parser(subparsers) -> argparse.ArgumentParser:
    from .cli_table import REGRESSION_LOSSES, defaults_help
    from .csvdata import TASKS
    from .data import DATASETS, REAL_DATASETS
    from .init import INITS
    from .layers import ACTIVATIONS
    from .optim import OPTIMIZERS, SCHEDULES
    from .train import BINARY_LOSSES, MULTICLASS_LOSSES

    p = subparsers.add_parser(
        "train", help="train an MLP on a data set or your own CSV and write the model and pictures",
        description="Train an MLP and write model.json, metrics.json and pictures into --out:\n"
                    "  on a generated 2-D data set (--dataset moons|circles|xor|spirals|blobs; loss.png,\n"
                    "  boundary.png, graph.svg), on your own table (--csv FILE --target COLUMN) or on a real\n"
                    "  data set scikit-learn ships (--dataset iris|wine|breast_cancer|digits|diabetes; needs\n"
                    "  pip install 'chainrule[datasets]'); tables also get confusion.png (classification) or\n"
                    "  pred_vs_actual.png (regression). Prints what it chose, progress and the final scores.",
        epilog=_preset_help() + "\n\n" + defaults_help() + "\n\nexamples:\n"
               "  chainrule train --dataset moons --epochs 100 --out runs/moons\n"
               "  chainrule train --csv houses.csv --target price\n"
               "  chainrule train --dataset iris --out runs/iris",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", type=_dataset_name, default=None, metavar="NAME",
                   help=f"a built-in data set: {', '.join(DATASETS)} (generated 2-D) or {', '.join(REAL_DATASETS)} "
                        f"(scikit-learn's copies) (default: moons)")
    p.add_argument("--csv", default=None, metavar="FILE", help="train on your own CSV file (header row)")
    p.add_argument("--target", default=None, metavar="COLUMN", help="with --csv: the column to predict")
    p.add_argument("--features", type=column_names, default=None, metavar="A,B,...",
                   help="with a table: the feature columns (default: every column but the target)")
    p.add_argument("--task", choices=list(TASKS), default=None,
                   help="with a table: auto = classification when the target is text or has at most 20 "
                        "distinct integer values, else regression (default: auto)")
    p.add_argument("--test-fraction", type=float_range(0.0, 0.9), default=0.2, metavar="F",
                   help="with a table: share of rows held out for the test scores, seeded (default: 0.2)")
    p.add_argument("--samples", type=int_at_least(4, MAX_SAMPLES), default=None,
                   help="generated sets: training points (default: per dataset, 100 for moons)")
    p.add_argument("--val-samples", type=int_at_least(0, MAX_SAMPLES), default=None,
                   help="generated sets: extra points held out for validation accuracy (default: 50; 0 = none)")
    p.add_argument("--noise", type=float_range(0.0), default=None,
                   help="noise level of the dataset (default: the dataset's own, 0.1 for moons)")
    p.add_argument("--classes", type=int_at_least(2, 1000), default=None,
                   help="number of classes for spirals and blobs (default: 3); moons, circles and xor always "
                        "have 2, so any other value is refused for them")
    p.add_argument("--hidden", type=layer_widths, default=None, metavar="W1,W2,...",
                   help="hidden layer widths (default: per dataset, 16,16 for moons)")
    p.add_argument("--activation", choices=[a for a in ACTIVATIONS if a != "linear"], default=None,
                   help="hidden-layer activation (default: relu; tanh for tables)")
    p.add_argument("--init", choices=list(INITS), default="auto",
                   help="weight init: auto = kaiming_uniform for relu, xavier_uniform otherwise (default: auto)")
    losses = list(dict.fromkeys(["auto", *BINARY_LOSSES, *MULTICLASS_LOSSES, *REGRESSION_LOSSES]))
    p.add_argument("--loss", choices=losses, default=None,
                   help="loss; 2 classes take hinge/bce/mse, 3+ classes cross_entropy/multi_margin, regression "
                        "mse/l1/huber (default: per dataset, or auto = hinge for 2 classes when the dataset's "
                        "own loss does not fit, e.g. blobs with --classes 2; bce for 2-class tables)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None, help="optimiser (default: per dataset)")
    p.add_argument("--lr", type=float_range(0.0, low_open=True), default=None,
                   help="learning rate (default: per dataset; 0.01 for adam/adamw, 0.1 for sgd when "
                        "--optimizer is not the dataset's own)")
    p.add_argument("--schedule", choices=list(SCHEDULES), default=None,
                   help="learning-rate schedule over the epochs: linear = to 0.1x, step = x0.1 every third, "
                        "cosine = to 0 (default: per dataset)")
    p.add_argument("--momentum", type=float_range(0.0, 1.0, high_open=True), default=0.0,
                   help="SGD momentum (default: 0)")
    p.add_argument("--l2", type=float_range(0.0), default=None,
                   help="L2 regularisation strength alpha (default: per dataset)")
    p.add_argument("--l1", type=float_range(0.0), default=0.0, help="L1 regularisation strength (default: 0)")
    p.add_argument("--dropout", type=float_range(0.0, 1.0, high_open=True), default=0.0,
                   help="dropout probability after each hidden layer (default: 0)")
    p.add_argument("--batchnorm", action="store_true", help="batch normalisation before each hidden activation")
    p.add_argument("--epochs", type=int_at_least(1, MAX_EPOCHS), default=None,
                   help="passes over the data (default: 100; per task for tables)")
    p.add_argument("--batch-size", type=int_at_least(0), default=None,
                   help="mini-batch size; 0 = the whole training set, one step per epoch "
                        "(default: 0; 32 for tables)")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed for data, init and shuffling (default: 0)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: runs/DATASET or runs/CSVNAME)")
    p.add_argument("--no-plots", action="store_true", help="skip the pictures")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show full tracebacks on errors")
    p.set_defaults(func=cmd_train)
    return p


def build_parser() -> argparse.ArgumentParser:
    from engine import __version__
    parser = _Parser(prog=PROG, description="chainrule: a scalar autodiff engine and a small neural-network "
                                            "library. Subcommands: train (the main job), predict, graph.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.subcommands = sub.choices  # name -> subparser, to report stray arguments under the right name
    _add_train_parser(sub)
    from . import cli_predict
    cli_predict.add_parser(sub)
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

def _say(args, text: str) -> None:
    if not args.quiet:
        print(text, flush=True)


def _stdin_is_a_file() -> bool:
    try:
        st = os.fstat(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size > 0


def cmd_train(args) -> int:
    """``chainrule train``: a table (``--csv`` or a real data set) goes to ``nn.cli_table``; the generated
    2-D sets are trained here."""
    from .data import REAL_DATASETS
    if args.csv is not None and args.dataset is not None:
        raise ValueError("give either --csv FILE or --dataset NAME, not both")
    if args.csv is None and args.dataset is None and _stdin_is_a_file():
        raise ValueError("train reads no data from standard input; give the file with --csv FILE --target COLUMN")
    if args.csv is not None or args.dataset in REAL_DATASETS:
        from . import cli_table
        return cli_table.run(args, lambda text: _say(args, text))
    for flag, value in (("--target", args.target), ("--features", args.features), ("--task", args.task)):
        if value is not None:
            raise ValueError(f"{flag} applies to tables (--csv FILE, or --dataset iris and the other real sets)")
    if args.test_fraction != 0.2:
        raise ValueError("--test-fraction applies to tables; the generated sets use --val-samples")
    args.dataset = args.dataset or "moons"
    args.epochs = 100 if args.epochs is None else args.epochs
    args.batch_size = 0 if args.batch_size is None else args.batch_size
    args.val_samples = 50 if args.val_samples is None else args.val_samples
    args.activation = args.activation or "relu"
    return _train_generated(args)


def _train_generated(args) -> int:
    from . import MLP
    from .data import DATASETS, load_dataset, train_val_split
    from .io import atomic_write_text, save_model
    from .optim import OPTIMIZERS, make_scheduler
    from .train import BINARY_LOSSES, DEFAULT_LR, MULTICLASS_LOSSES, evaluate, fit, progress_enabled

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
        raise Failure(f"cannot create output folder {out_dir!r}: {e.strerror or e}") from None
    if not os.access(out_dir, os.W_OK):
        raise Failure(f"output folder {out_dir!r} is not writable")

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
            raise Failure(f"training diverged at epoch {epoch} (loss is {rec['loss']}); try a smaller --lr")
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
        raise Failure(f"cannot write into {out_dir!r}: {e.strerror or e}") from None
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
        warn("train", "matplotlib is not installed, so no loss.png/boundary.png; pip install 'chainrule[plot]'")
    else:
        from .train import plot_decision_boundary, plot_history
        try:
            plot_history(history, paths["loss.png"], title=f"{dataset}: training curves")
            written.append("loss.png")
            plot_decision_boundary(model, Xtr, ytr, paths["boundary.png"], X_val=Xval or None, y_val=yval or None,
                                   title=f"{dataset}: decision boundary")
            written.append("boundary.png")
        except OSError as e:
            raise Failure(f"cannot write pictures: {e.strerror or e}") from None
    try:
        graph_svg(model, Xtr, paths["graph.svg"])
        written.append("graph.svg")
    except Exception as e:  # noqa: BLE001 - the picture is optional: never fail the run for it
        warn("train", f"could not draw graph.svg ({type(e).__name__}: {e}); the rest of the run is fine")
    return written


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
            if len(t) > 2 and t[:2] in known:  # "-h*x": argparse reads -h (3.13 prints the help and exits 0)
                sp.error(f"{t!r} starts like the option {t[:2]}")


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
        from .data import MissingExtraError
        from .io import ModelFileError
        # a damaged model file is a runtime problem (the command line was fine): exit 1; a missing
        # optional package is fixed by the user's own install command, like a bad argument: exit 2
        code = 2 if (isinstance(e, (ValueError, TypeError)) and not isinstance(e, ModelFileError)) \
            or isinstance(e, MissingExtraError) else 1
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, OSError) and e.strerror:
            msg = f"{e.strerror}: {e.filename}" if e.filename else e.strerror
        if not isinstance(e, (Failure, ValueError, TypeError, OSError, MissingExtraError)):
            msg = f"{type(e).__name__}: {msg} (rerun with --debug for the traceback)"
        cmd = getattr(locals().get("args"), "command", None)
        print(f"{PROG}{' ' + cmd if cmd else ''}: error: {msg}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
