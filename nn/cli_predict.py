"""``chainrule predict``: a saved model's predictions for points typed on the command line, or for
every row of a CSV file, streamed.

    chainrule predict --model runs/moons/model.json 0.5,-1.0 1.0,0.2
    chainrule predict --model runs/iris/model.json --csv new_flowers.csv -o predictions.csv

With ``--csv`` the output is CSV (to ``-o`` or stdout): one row per input
row, in order, with a ``prediction`` column (the class name as it was in
the training CSV, or the number for regression) and, for classification,
one ``prob_<class>`` column per class.  Rows are read, predicted and
written ``CHUNK`` at a time, so memory stays flat for any file size.  A
model trained on a table (``TabularModel``) finds its feature columns by
name and standardises them itself; the target column, if present, is not
used, but its values must be ones the model knows (a classifier fed a
regression file says so).  ``-o`` is written atomically: on any error
nothing is written.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
from typing import List

from .cli_args import Failure, int_at_least, json_number, note

CHUNK = 2048  # rows per model.predict call: big enough to amortise the call, small enough to stay flat


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


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``predict`` on ``subparsers``."""
    p = subparsers.add_parser(
        "predict", help="a saved model's predictions for some points or a CSV file",
        description="Load a model saved by `chainrule train` (or nn.save_model) and print its predictions:\n"
                    "for each POINT its output (the score for one-output models, one score per class\n"
                    "otherwise) and the predicted class (score > 0 means class 1; else the argmax), or,\n"
                    "with --csv, one CSV row per input row with a 'prediction' column (class name or\n"
                    "number) and, for classification, one 'prob_<class>' column per class.",
        epilog="examples:\n"
               "  chainrule predict --model runs/moons/model.json 0.5,-1.0 1.0,0.2\n"
               "  chainrule predict --model runs/moons/model.json --json -0.3,0.9\n"
               "  chainrule predict --model runs/iris/model.json --csv flowers.csv -o predictions.csv\n\n"
               "Points are comma-separated numbers, one per model input; points may start with '-'.\n"
               "Exit codes: 2 for bad points/options/data, 1 for a missing, unreadable or damaged file.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("points", nargs="*", type=_point, metavar="POINT", help="an input point like 0.5,-1.0")
    p.add_argument("--model", required=True, metavar="PATH", help="the model file (model.json)")
    p.add_argument("--csv", default=None, metavar="FILE",
                   help="predict every row of this CSV file (header row; columns by name)")
    p.add_argument("-o", "--output", default=None, metavar="OUT.csv",
                   help="with --csv: write the predictions here (default: stdout)")
    p.add_argument("--json", action="store_true", help="print one JSON object per point instead of text")
    p.add_argument("--max-bytes", type=int_at_least(1), default=None, metavar="N",
                   help="refuse model files bigger than N bytes (default: 64 MiB)")
    p.add_argument("--allow-nonfinite", action="store_true",
                   help="load a model even if it holds nan/inf weights (refused by default)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show full tracebacks on errors")
    # "-0.3,0.9" is a point, not an option (argparse only knows plain negative numbers)
    if hasattr(p, "_negative_number_matcher"):
        p._negative_number_matcher = re.compile(r"^-[^-h]")  # -1,2  -.5,1  -inf,0 (rejected later)
    p.set_defaults(func=run)
    return p


def _load(args):
    from .io import MAX_BYTES, load_model
    if os.path.isdir(args.model):
        raise Failure(f"--model {args.model!r} is a folder; give the model file, e.g. {args.model}/model.json")
    return load_model(args.model, max_bytes=args.max_bytes or MAX_BYTES, allow_nonfinite=args.allow_nonfinite)


def run(args) -> int:
    """Run ``chainrule predict``; exit code 0, or raises (see ``nn.cli.main`` for the codes)."""
    if args.csv is not None:
        if args.points:
            raise ValueError("give either POINTs or --csv FILE, not both")
        if args.json:
            raise ValueError("--json applies to POINTs; --csv writes CSV")
        return _predict_csv(args)
    if args.output is not None:
        raise ValueError("-o applies to --csv; POINT predictions are printed")
    if not args.points:
        raise ValueError("give at least one POINT, e.g. chainrule predict --model model.json 0.5,-1.0, "
                         "or --csv FILE")
    return _predict_points(args)


def _predict_points(args) -> int:
    from .metrics import class_or_none, probabilities
    from .tabular import TabularModel

    model = _load(args)
    nin = getattr(model, "nin", None)
    for pt in args.points:
        if nin is not None and len(pt) != nin:
            raise ValueError(f"point {','.join(f'{v:g}' for v in pt)} has {len(pt)} numbers but the model "
                             f"takes {nin}")
    outputs = model.predict(args.points)
    table = isinstance(model, TabularModel)
    undecided = 0
    for pt, out in zip(args.points, outputs):
        point = ",".join(f"{v:g}" for v in pt)
        if table and model.task == "regression":
            if args.json:
                print(json.dumps({"point": pt, "prediction": json_number(out)}, allow_nan=False), flush=True)
            else:
                print(f"{point}  prediction {out:.6g}", flush=True)
            continue
        cls = class_or_none(out)  # None: nan scores (or a tie at inf) pick no class
        name = cls if cls is None or not table else model.classes[cls]
        if cls is None:
            undecided += 1
        if args.json:
            # JSON has no inf/nan: a non-finite score is written as null (strict parsers reject Infinity)
            row = {"point": pt, "output": json_number(out), "class": name}
            if table:
                row["probabilities"] = dict(zip(model.classes, json_number(probabilities(out))))
            print(json.dumps(row, allow_nan=False), flush=True)
        elif isinstance(out, list):
            print(f"{point}  scores {' '.join(f'{o:.6g}' for o in out)}  class {'?' if cls is None else name}",
                  flush=True)
        else:
            print(f"{point}  score {out:.6g}  class {'?' if cls is None else name}", flush=True)
    _warn_undecided(undecided)
    return 0


def _check_rows(n: int, path: str) -> None:
    if n == 0:
        raise ValueError(f"{path}: a header with no rows: nothing to predict")


def _warn_undecided(n: int) -> None:
    if n:
        note("predict", f"{n} prediction(s) have nan scores (or a tie at inf), so no class: shown as "
                        f"'?'/null/an empty cell; their inputs are likely far outside the training data's range")


def _columns(model, header: List[str], path: str):
    """Indices of the model's input columns in ``header``; for models without feature names, every column."""
    from .csvdata import CSVError
    from .tabular import TabularModel

    if isinstance(model, TabularModel):
        where = {name: j for j, name in enumerate(header)}
        missing = [f for f in model.features if f not in where]
        if missing:
            raise CSVError(f"{path}: missing feature column(s) {', '.join(map(repr, missing))}; the model needs "
                           f"{', '.join(model.features)}")
        target = where.get(model.target)
        return [where[f] for f in model.features], target
    nin = getattr(model, "nin", None)
    note("predict", "the model file has no feature names or standardisation block (saved before chainrule "
                    "trained on tables, or from Python without nn.TabularModel): using every column in "
                    "file order, unscaled")
    if nin is not None and len(header) != nin:
        raise CSVError(f"{path}: the model takes {nin} inputs and has no feature names, so the file needs "
                       f"exactly {nin} columns; it has {len(header)} ({', '.join(header)})")
    return list(range(len(header))), None


def _target_check(model, path: str):
    """A check for the file's target column: its values must be ones this model knows (a class model
    fed a regression file, or the other way round, says so instead of predicting nonsense)."""
    from .csvdata import CSVError
    names = set(model.classes or ())
    try:  # numeric class names: "1.0" is class "1"
        numbers = {float(c) for c in names}
    except ValueError:
        numbers = set()

    def check(text: str, line: int) -> None:
        value = text.strip()
        if model.task == "classification":
            if not value or value in names:
                return
            try:
                if float(value) in numbers:
                    return
            except ValueError:
                pass
            raise CSVError(f"{path}: line {line}, column {model.target!r}: {value[:40]!r} is not one of the "
                           f"model's classes ({', '.join(model.classes)}); is this file for another model? "
                           f"(drop the column to predict anyway)")
        try:
            float(value)
        except ValueError:
            raise CSVError(f"{path}: line {line}, column {model.target!r}: {value[:40]!r} is not a number, "
                           f"but this is a regression model; is this file for a classifier? "
                           f"(drop the column to predict anyway)") from None
    return check


def _predict_csv(args) -> int:
    from engine.fileio import atomic_open

    from .csvdata import CSVStream, parse_number
    from .metrics import class_or_none, probabilities
    from .tabular import TabularModel

    model = _load(args)
    table = isinstance(model, TabularModel)
    if args.output is not None and os.path.isdir(args.output):
        raise ValueError(f"-o: {args.output!r} is a folder; give a file like {os.path.join(args.output, 'predictions.csv')!r}")
    with CSVStream(args.csv) as stream:
        cols, target = _columns(model, stream.header, stream.path)
        check = _target_check(model, stream.path) if target is not None else None
        names = [stream.header[j] for j in cols]
        classify = not table or model.task == "classification"
        if table and classify:
            out_header = ["prediction"] + [f"prob_{c}" for c in model.classes]
        else:
            out_header = ["prediction"]

        undecided = [0]

        def rows():
            batch = []
            for line, fields in stream.rows():
                if check is not None:
                    check(fields[target], line)
                batch.append([parse_number(fields[j], stream.path, line, name) for j, name in zip(cols, names)])
                if len(batch) == CHUNK:
                    yield from _rows_for(batch)
                    batch = []
            if batch:
                yield from _rows_for(batch)

        def _rows_for(batch):
            for out in model.predict(batch):
                if not classify:
                    yield [repr(out)]
                    continue
                cls = class_or_none(out)
                if cls is None:
                    undecided[0] += 1
                name = "" if cls is None else (model.classes[cls] if table else cls)
                yield ([name] + [repr(p) for p in probabilities(out)]) if table else [name]

        if args.output is None:
            w = csv.writer(sys.stdout, lineterminator="\n")
            n = 0
            for r in rows():
                if n == 0:  # the header once a row exists: a header-only file prints nothing
                    w.writerow(out_header)
                w.writerow(r)
                n += 1
            _check_rows(n, stream.path)
        else:
            n = 0
            with atomic_open(args.output, "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(out_header)
                for r in rows():
                    w.writerow(r)
                    n += 1
                _check_rows(n, stream.path)  # inside: the file is not written
            note("predict", f"wrote {n} predictions to {args.output}")
    _warn_undecided(undecided[0])
    return 0
