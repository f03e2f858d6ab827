"""Tables from CSV files: ``load_csv`` for training, ``iter_csv`` for streaming predictions.

Only the standard ``csv`` module (no pandas).  The first non-blank row is
the header; quoted fields, a UTF-8 byte-order mark, ``\\r\\n`` line ends and
blank lines (anywhere, e.g. trailing) are fine.  Features must be finite
numbers; the target is a class name (any text) or a number.

``task="auto"`` picks **classification** when the target column holds text,
or only integers with at most ``MAX_AUTO_CLASSES`` (20) distinct values
(e.g. 0/1/2), and **regression** otherwise (e.g. prices); ``Table.reason``
says which rule decided.  Class names are sorted (numerically when they are
all numbers, else as text), so the class order does not depend on the
order of the rows; a name is kept as the CSV spelled it.

Every problem is a ``CSVError`` (a ValueError) naming the file, the line,
the column and the value: a missing target (listing the columns there are),
a ragged row, a cell that is not a number, nan/inf or empty cells,
duplicate column names, an empty file, a header without rows, a single
class, a file that is not UTF-8.  Missing, unreadable or non-regular files
raise ``OSError``.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "pets.csv")
>>> _ = open(path, "w").write("weight,ears,kind\\n4.0,2,cat\\n30,2,dog\\n5.5,2,cat\\n")
>>> t = load_csv(path, "kind")
>>> t.features, t.classes, t.y, t.task
(['weight', 'ears'], ['cat', 'dog'], [0, 1, 0], 'classification')
"""
from __future__ import annotations

import csv
import io
import math
import os
from fractions import Fraction
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from engine.fileio import atomic_open, open_regular

from .checks import check_path, choice, short

TASKS = ("auto", "classification", "regression")
MAX_AUTO_CLASSES = 20    # integer targets with more distinct values are taken as numbers (regression)
MAX_CLASSES = 1000       # beyond this a "class" column is almost surely an ID or free text


class CSVError(ValueError):
    """A CSV file that cannot be used as it is; the message names the file, line, column and value."""


class Table(NamedTuple):
    """A loaded table: ``X`` (rows of floats) and ``y`` (class indices or floats), ready for ``fit``."""
    X: List[List[float]]
    y: list
    features: List[str]
    target: str
    task: str                      # "classification" or "regression"
    classes: Optional[List[str]]   # class names in index order (classification), else None
    reason: str                    # why this task (the auto rule, or "asked for")
    lines: List[int]               # the file line of each row, for messages


def _reader(f, path: str) -> Iterator[Tuple[int, List[str]]]:
    """``(line number, fields)`` for every non-blank row; UTF-8 with or without a BOM."""
    text = io.TextIOWrapper(f, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, strict=True)
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank line (csv gives [] for "\n"); a lone empty field is a blank line too
            yield reader.line_num, fields
    except UnicodeDecodeError as e:
        where = _first_bad_utf8(path)
        raise CSVError(f"{path}: not UTF-8 text{where} ({e.reason}); save the file as UTF-8 "
                       f"(\"CSV UTF-8\" in spreadsheet programs)") from None
    except csv.Error as e:
        raise CSVError(f"{path}: line {reader.line_num}: malformed CSV ({e})") from None


def _first_bad_utf8(path: str) -> str:
    """" at line N, byte B" for the first bytes that are not UTF-8 (the decoder works in chunks, so its
    own position does not say which line)."""
    try:
        with open_regular(path) as f:
            for n, raw in enumerate(f, 1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    return f" at line {n}, byte {e.start + 1} of the line"
    except OSError:
        pass
    return ""


class CSVStream:
    """A CSV file opened for reading row by row: ``header`` and ``rows()`` (``(line, fields)`` pairs).

    Use as a context manager.  Nothing but the current row is held in memory.
    """

    def __init__(self, path) -> None:
        self.path = check_path(path, "CSV")
        self._file = open_regular(self.path)  # OSError: missing, unreadable, a folder, a FIFO
        self._rows = _reader(self._file, self.path)
        try:
            self.header_line, header = next(self._rows)
        except StopIteration:
            self.close()
            raise CSVError(f"{self.path}: the file is empty; expected a header row with column names") from None
        except BaseException:
            self.close()
            raise
        self.header = [h.strip() for h in header]
        seen = {}
        for j, name in enumerate(self.header):
            if not name:
                self.close()
                raise CSVError(f"{self.path}: line {self.header_line}: column {j + 1} has no name in the header")
            if name in seen:
                self.close()
                raise CSVError(f"{self.path}: line {self.header_line}: duplicate column name {name!r} "
                               f"(columns {seen[name] + 1} and {j + 1}); rename one")
            seen[name] = j

    def rows(self) -> Iterator[Tuple[int, List[str]]]:
        """``(line number, fields)`` per data row; a ragged row raises CSVError naming it."""
        width = len(self.header)
        for line, fields in self._rows:
            if len(fields) != width:
                raise CSVError(f"{self.path}: line {line}: expected {width} fields (as in the header), "
                               f"got {len(fields)}")
            yield line, fields

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "CSVStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_number(text: str, path: str, line: int, column: str) -> float:
    """A finite float from one cell, or CSVError naming where and what.

    >>> parse_number(" 2.5 ", "f.csv", 3, "x")
    2.5
    """
    try:
        v = float(text)
    except ValueError:
        if not text.strip():
            raise CSVError(f"{path}: line {line}, column {column!r}: empty cell; every feature needs a number "
                           f"(fill or drop missing values first)") from None
        raise CSVError(f"{path}: line {line}, column {column!r}: {short(text, 40)} is not a number; "
                       f"features must be numeric") from None
    if not math.isfinite(v):
        raise CSVError(f"{path}: line {line}, column {column!r}: {short(text, 40)} is not a finite number; "
                       f"fill or drop missing/nan/inf values first")
    return v


def select_columns(header: Sequence[str], target: Optional[str], features: Optional[Sequence[str]],
                   path: str) -> Tuple[List[int], Optional[int]]:
    """Indices of the feature columns and of the target (None when ``target`` is None).

    ``features=None`` means every column but the target.
    """
    where = {name: j for j, name in enumerate(header)}
    cols = ", ".join(header)
    t = None
    if target is not None:
        if target not in where:
            raise CSVError(f"{path}: no column {target!r} for the target; the columns are: {cols}")
        t = where[target]
    if features is None:
        feats = [j for j in range(len(header)) if j != t]
    else:
        feats_names = list(features)
        unknown = [f for f in feats_names if f not in where]
        if unknown:
            raise CSVError(f"{path}: unknown feature column(s) {', '.join(map(repr, unknown))}; "
                           f"the columns are: {cols}")
        if target is not None and target in feats_names:
            raise CSVError(f"{path}: {target!r} is the target; it cannot also be a feature")
        if len(set(feats_names)) != len(feats_names):
            raise CSVError(f"{path}: a feature is listed twice in {', '.join(feats_names)}")
        feats = [where[f] for f in feats_names]
    if not feats:
        raise CSVError(f"{path}: no feature columns: the file has only the target {target!r}")
    return feats, t


def _class_order(names: List[str]) -> List[str]:
    try:
        return sorted(names, key=float)
    except ValueError:
        return sorted(names)


def load_csv(path: Union[str, "os.PathLike[str]"], target: str, *, features: Optional[Sequence[str]] = None,
             task: str = "auto") -> Table:
    """Load a CSV file with a header row as a ``Table`` (``X``, ``y``, feature and class names, task).

    ``features``: column names to use (default: every column but
    ``target``).  ``task``: ``"auto"``, ``"classification"`` or
    ``"regression"`` (see the module docstring for the auto rule).
    Classification targets become indices ``0..K-1`` into
    ``Table.classes``; regression targets floats.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "h.csv")
    >>> _ = open(path, "w").write("size,rooms,price\\n50,2,100.5\\n80,3,151\\n65,3,130\\n")
    >>> t = load_csv(path, "price")
    >>> t.task, t.y, t.reason
    ('regression', [100.5, 151.0, 130.0], 'the target has non-integer numbers')
    """
    path = check_path(path, "load_csv")
    if not isinstance(target, str) or not target:
        raise TypeError(f"load_csv: target must be a column name (a str), got {type(target).__name__} "
                        f"{short(target)}")
    if features is not None and (isinstance(features, str) or not all(isinstance(f, str) for f in features)):
        raise TypeError(f"load_csv: features must be a list of column names, got {short(features)}")
    choice(task, TASKS, "task", "load_csv")
    with CSVStream(path) as stream:
        header = stream.header
        feats, t = select_columns(header, target, features, path)
        names = [header[j] for j in feats]
        X, raw, lines = [], [], []
        for line, fields in stream.rows():
            X.append([parse_number(fields[j], path, line, header[j]) for j in feats])
            raw.append(fields[t].strip())
            lines.append(line)
    if not X:
        raise CSVError(f"{path}: the file has a header but no data rows")
    task, reason, y, classes = _target(raw, lines, task, target, path)
    return Table(X, y, names, target, task, classes, reason, lines)


def _target(raw: List[str], lines: List[int], task: str, target: str, path: str):
    numbers = []
    for text in raw:
        try:
            v = float(text)
        except ValueError:
            break
        numbers.append(v)
    numeric = len(numbers) == len(raw)
    for i, text in enumerate(raw):
        if not text:
            raise CSVError(f"{path}: line {lines[i]}, column {target!r}: empty target cell; every row needs "
                           f"a target (drop rows without one)")
    if numeric:
        bad = next((i for i, v in enumerate(numbers) if not math.isfinite(v)), None)
        if bad is not None:
            raise CSVError(f"{path}: line {lines[bad]}, column {target!r}: {raw[bad]!r} is not a finite number")
    if task == "auto":
        if not numeric:
            task, reason = "classification", "the target holds text"
        elif not all(v.is_integer() for v in numbers):
            task, reason = "regression", "the target has non-integer numbers"
        else:
            k = len(set(numbers))
            if k <= MAX_AUTO_CLASSES:
                task, reason = "classification", f"the target has {k} distinct integer values"
            else:
                task, reason = "regression", f"the target has {k} distinct integer values (over {MAX_AUTO_CLASSES})"
    else:
        reason = "asked for"
    if task == "regression":
        if not numeric:
            i = len(numbers)
            raise CSVError(f"{path}: line {lines[i]}, column {target!r}: {short(raw[i], 40)} is not a number; "
                           f"regression needs a numeric target (or use --task classification)")
        if len(set(numbers)) < 2:
            raise CSVError(f"{path}: the target {target!r} has the same value {raw[0]!r} in every row; "
                           f"there is nothing to learn")
        return task, reason, numbers, None
    # classification: one class per distinct value (by number for numeric labels: "1" and "1.0" are one)
    key = {}
    if numeric and any(abs(v) >= 2.0 ** 53 for v in numbers):  # floats would merge distinct big integers
        numbers = [Fraction(text.strip()) for text in raw]
    for i, text in enumerate(raw):
        k = numbers[i] if numeric else text
        key.setdefault(k, text)
    if len(key) < 2:
        raise CSVError(f"{path}: the target {target!r} has a single class {raw[0]!r}; classification needs "
                       f"at least 2 classes")
    if len(key) > MAX_CLASSES:
        raise CSVError(f"{path}: the target {target!r} has {len(key)} distinct values, too many classes "
                       f"(at most {MAX_CLASSES}); is it an ID column? For numbers use --task regression")
    classes = _class_order(list(key.values()))
    index = {name: c for c, name in enumerate(classes)}
    lookup = {k: index[text] for k, text in key.items()}
    y = [lookup[numbers[i] if numeric else text] for i, text in enumerate(raw)]
    return task, reason, y, classes


def write_csv(path: Union[str, "os.PathLike[str]"], header: Sequence[str], rows) -> int:
    """Write ``header`` and ``rows`` (an iterable, consumed lazily) as CSV, atomically; returns the row count.

    Floats are written with ``repr`` (they read back exactly).  Nothing
    replaces ``path`` unless every row was written.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.csv")
    >>> write_csv(path, ["a", "b"], [[1.5, "x"], [2, "y,z"]])
    2
    >>> open(path, newline="").read().splitlines()
    ['a,b', '1.5,x', '2,"y,z"']
    """
    path = check_path(path, "write_csv")
    n = 0
    with atomic_open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow(row)
            n += 1
    return n
