"""Save and load models as JSON (architecture + weights).  Never pickle.

File format (``format_version`` 1)::

    {"format": "chainrule-model", "format_version": 1,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1], ...},
     "state": {"0.weight": [[...], ...], "0.bias": [...], ...},
     "metadata": {...}}                       # optional, free-form

Writes are atomic (``engine.fileio.atomic_write``): the JSON goes to a
temporary file beside the real target, is flushed to disk, then
``os.replace``-d over it, so a crash never leaves a half-written model.  Loads check everything (size, JSON syntax,
format and version, architecture, every key, shape and number) before any
weight is touched, and raise ``ModelFileError`` (a ValueError) naming the
file and what is wrong.

>>> import os, tempfile
>>> from nn import MLP
>>> from nn.io import save_model, load_model
>>> path = os.path.join(tempfile.mkdtemp(), "model.json")
>>> save_model(MLP(2, [4, 1], seed=0), path)
>>> load_model(path)
MLP(2 -> [4, 1], activation=relu, params=17)
  (0): Layer(2 -> 4, relu)
  (1): Layer(4 -> 1, linear)
"""
from __future__ import annotations

import json
import math
import os
from typing import Optional, Union

from engine.fileio import atomic_write, open_regular

from .checks import check_path, integer
from .layers import from_config
from .module import Module, StateDictError, flatten

FORMAT = "chainrule-model"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # a 2-D toy MLP is a few KB; refuse to parse anything absurd
MAX_PARAMS = MAX_BYTES  # a file of max_bytes holds fewer numbers than this
# Bounds on the architecture, checked before anything is built (a crafted 9.5 MB file of 500,000
# Dropouts took 1.7 GB): real models here have tens of modules, nested a few levels.
MAX_MODULES = 10_000
MAX_NESTING = 64  # JSON levels inside "architecture"; a Sequential adds 2
MAX_OBJECTS = 100_000  # JSON objects in the whole file: a module is one, metadata a few

PathLike = Union[str, "os.PathLike[str]"]


class ModelFileError(ValueError):
    """A model file cannot be loaded; the message names the file and the problem."""


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} (JSON has no NaN/Infinity; pass allow_nonfinite=True to load it)")


def _allow_constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


class _ObjectCounter:
    """``json.loads``'s object hook: builds dicts and stops the parse past ``MAX_OBJECTS`` of them.

    A JSON object costs ~20x its text in memory (a 15 MB file of 500,000
    ``{"type": "Dropout"}`` took 229 MiB just to parse), so crafted files are
    refused while parsing, not after.
    """

    __slots__ = ("path", "count")

    def __init__(self, path: str) -> None:
        self.path, self.count = path, 0

    def __call__(self, pairs: list) -> dict:
        self.count += 1
        if self.count > MAX_OBJECTS:
            raise ModelFileError(f"{self.path}: more than {MAX_OBJECTS:,} JSON objects; the file is damaged or "
                                 f"was not written by save_model")
        return dict(pairs)


def _check_module(model, where: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"{where}: expected an nn.Module (e.g. MLP), got {type(model).__name__}")


def model_to_dict(model: Module, metadata: Optional[dict] = None) -> dict:
    """The JSON-able dict ``save_model`` writes."""
    _check_module(model, "save_model")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"save_model: metadata must be a dict (or None), got {type(metadata).__name__}")
    state = model.state_dict()
    for key, t in state.items():
        for x in flatten(t):
            if not math.isfinite(x):
                raise ValueError(f"save_model: weight {key!r} is {x}; refusing to save a model with nan/inf "
                                 f"weights (training diverged: lower the learning rate)")
    out = {"format": FORMAT, "format_version": FORMAT_VERSION, "architecture": model.config(), "state": state}
    if metadata is not None:
        out["metadata"] = metadata
    return out


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see ``engine.fileio.atomic_write``)."""
    atomic_write(path, text)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old file or the new one, never half."""
    atomic_write(path, data)


def save_model(model: Module, path: PathLike, *, metadata: Optional[dict] = None) -> None:
    """Write ``model`` (architecture + weights) to ``path`` as JSON, atomically.

    Everything is serialised in memory first, so an unsaveable model
    (nan/inf weights, metadata that is not JSON) never touches the file;
    a crash during the write leaves the previous file as it was.  Saving
    to a symlink updates the file it points to; an existing file keeps its
    permissions.

    >>> import os, tempfile
    >>> from nn import MLP
    >>> save_model(MLP(2, [3, 1], seed=0), os.path.join(tempfile.mkdtemp(), "m.json"))
    """
    path = check_path(path, "save_model")
    if os.path.isdir(path):
        example = os.path.join(path, "model.json")
        raise IsADirectoryError(f"save_model: {path!r} is a directory; pass a file path like {example!r}")
    doc = model_to_dict(model, metadata)
    try:
        text = json.dumps(doc, allow_nan=False)
    except TypeError as e:
        raise TypeError(f"save_model: metadata is not JSON-serialisable: {e}") from None
    except ValueError as e:
        if "Circular reference" in str(e):
            raise ValueError("save_model: metadata holds itself (a circular reference); JSON cannot store it") from None
        raise ValueError(f"save_model: metadata holds a nan/inf number ({e}); JSON cannot store it") from None
    except RecursionError:
        raise ValueError("save_model: metadata is nested too deeply for JSON") from None
    atomic_write(path, text)


def _read(path: PathLike, max_bytes: int, where: str, allow_nonfinite: bool = False) -> dict:
    p = check_path(path, where)
    max_bytes = integer(max_bytes, "max_bytes", where, minimum=1)
    with open_regular(p) as f:  # OSError (missing file, a folder, a FIFO, ...) propagates, naming the path
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise ModelFileError(f"{p}: file is {size} bytes, over the {max_bytes}-byte limit for model files; "
                                 f"pass max_bytes= to load a bigger one")
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ModelFileError(f"{p}: file is over the {max_bytes}-byte limit for model files")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelFileError(f"{p}: not a chainrule model file (not UTF-8 text: {e.reason} at byte {e.start})") from None
    if not text.strip():
        raise ModelFileError(f"{p}: file is empty; it is not a chainrule model file")
    try:
        doc = json.loads(text, parse_constant=_allow_constant if allow_nonfinite else _reject_constant,
                         object_pairs_hook=_ObjectCounter(p))
    except json.JSONDecodeError as e:
        stripped = text.rstrip()
        truncated = e.pos >= len(stripped) - 1 or (stripped.startswith("{") and not stripped.endswith("}"))
        hint = " (the file looks truncated)" if truncated else ""
        raise ModelFileError(f"{p}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}{hint}") from None
    except ModelFileError:
        raise
    except RecursionError:
        raise ModelFileError(f"{p}: invalid model file: the JSON is nested too deeply to parse; the file is "
                             f"damaged or was not written by save_model") from None
    except (ValueError, MemoryError) as e:
        raise ModelFileError(f"{p}: invalid model file: {str(e) or type(e).__name__}") from None
    if not isinstance(doc, dict):
        raise ModelFileError(f"{p}: expected a JSON object at the top level, got {type(doc).__name__}")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise ModelFileError(f"{p}: not a chainrule model file (\"format\" is {str(fmt)[:40]!r}, expected {FORMAT!r})")
    version = doc.get("format_version")
    if type(version) is bool or version != FORMAT_VERSION:
        raise ModelFileError(f"{p}: unknown format_version {version!r}; this chainrule reads version "
                             f"{FORMAT_VERSION} (upgrade chainrule to read newer files)"[:300])
    for key in ("architecture", "state"):
        if key not in doc:
            raise ModelFileError(f"{p}: missing key {key!r}")
    if not isinstance(doc["state"], dict):
        raise ModelFileError(f"{p}: \"state\" must be a JSON object of name -> weights, "
                             f"got {type(doc['state']).__name__}")
    _check_architecture_shape(doc["architecture"], p)
    return doc


def _check_architecture_shape(config, p: str) -> None:
    """Bound the architecture's nesting and module count before anything recursive touches it."""
    modules = 0
    stack = [(config, 1)]
    while stack:  # iterative: a crafted file nested 985 deep must not hit the recursion limit
        obj, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ModelFileError(f"{p}: bad architecture: nested more than {MAX_NESTING} levels deep; "
                                 f"the file is damaged or was not written by save_model")
        if isinstance(obj, dict):
            if "type" in obj:
                nouts = obj.get("nouts")
                modules += 1 + (3 * len(nouts) if obj.get("type") == "MLP" and isinstance(nouts, list) else 0)
            stack.extend((v, depth + 1) for v in obj.values())
        elif isinstance(obj, list):
            stack.extend((v, depth + 1) for v in obj)
        if modules > MAX_MODULES:
            raise ModelFileError(f"{p}: bad architecture: more than {MAX_MODULES:,} modules; "
                                 f"the file is damaged or was not written by save_model")


def _count_numbers(obj, limit: int) -> int:
    """How many numbers the nested lists in ``obj`` hold (stops counting past ``limit``)."""
    total, stack = 0, [obj]
    while stack and total <= limit:
        o = stack.pop()
        if isinstance(o, list):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
        else:
            total += 1
    return total


def _count(config, key: str) -> int:
    v = config.get(key)
    return v if isinstance(v, int) and type(v) is not bool and v > 0 else 0


def _config_size(config) -> int:
    """The number of weights and buffers the architecture ``config`` would create (0 when unknown).

    Lets ``load_model`` refuse a small file that describes a huge model
    (say ``nouts: [1000000000]``) before allocating it.  Unknown or
    malformed fields count 0: ``from_config`` reports those.  Nesting is
    already bounded by ``_check_architecture_shape``.
    """
    total, stack = 0, [config]
    while stack:
        c = stack.pop()
        if not isinstance(c, dict):
            continue
        kind = c.get("type")
        if kind == "Neuron":
            total += _count(c, "nin") + 1
        elif kind == "Layer":
            total += (_count(c, "nin") + 1) * _count(c, "nout")
        elif kind == "BatchNorm":
            total += 4 * _count(c, "num_features")
        elif kind == "Sequential" and isinstance(c.get("modules"), list):
            stack.extend(c["modules"])
        elif kind == "TabularModel":
            features = c.get("features")
            total += 2 * len(features) + 2 if isinstance(features, list) else 0
            stack.append(c.get("net"))
        elif kind == "Linear":
            total += _count(c, "in_features") * _count(c, "out_features")
        elif kind == "Embedding":
            total += _count(c, "num_embeddings") * _count(c, "embedding_dim")
        elif kind in ("RMSNorm", "LayerNorm"):
            total += _count(c, "dim")
        elif kind == "CausalSelfAttention":
            total += 4 * _count(c, "embed_dim") ** 2
        elif kind == "TransformerBlock":
            total += (4 + 2 * (_count(c, "mlp_ratio") or 4)) * _count(c, "embed_dim") ** 2
        elif kind == "GPT":  # missing sizes take GPT's defaults; lm_head and the embeddings, then the blocks
            embd = _count(c, "n_embd") or 16
            total += (2 * _count(c, "vocab_size") + (_count(c, "block_size") or 16)) * embd
            total += (_count(c, "n_layer") or 1) * (4 + 2 * (_count(c, "mlp_ratio") or 4)) * embd ** 2
        elif kind == "MLP" and isinstance(c.get("nouts"), list):
            sizes = [_count(c, "nin")] + [v if isinstance(v, int) and type(v) is not bool and v > 0 else 0
                                           for v in c["nouts"]]
            total += sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
            if c.get("batchnorm") is True:
                total += 4 * sum(sizes[1:-1])
    return total


def load_model(path: PathLike, *, max_bytes: int = MAX_BYTES, allow_nonfinite: bool = False) -> Module:
    """Build the model described in ``path`` and load its weights.

    Raises ``ModelFileError`` naming the problem (oversize, not JSON,
    truncated, wrong format/version, missing key, wrong shape, non-numeric
    or non-finite weight, unknown or oversized architecture, an
    architecture far bigger than the weights in the file); ``OSError`` if
    the file cannot be read or is not a regular file; TypeError/ValueError
    for a bad ``path``/``max_bytes``.  nan/inf weights (``NaN``/``Infinity``
    in the file, or numbers like ``1e400``) are refused unless
    ``allow_nonfinite=True``.

    >>> import os, tempfile
    >>> from nn import MLP
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json"); save_model(MLP(2, [3, 1], seed=0), path)
    >>> load_model(path).nouts
    [3, 1]
    """
    doc = _read(path, max_bytes, "load_model", allow_nonfinite)
    p = check_path(path, "load_model")
    held = _count_numbers(doc["state"], MAX_PARAMS)
    need = _config_size(doc["architecture"])
    if need > max(2 * held, 100_000):  # small mismatches get load_state_dict's precise message
        raise ModelFileError(f"{p}: bad architecture: it needs {need} weights but the file holds {held}; "
                             f"the file is damaged or was not written by save_model")
    try:
        model = from_config(doc["architecture"])
    except (ValueError, TypeError, RecursionError) as e:
        raise ModelFileError(f"{p}: bad architecture: {e}") from None
    try:
        model.load_state_dict(doc["state"], allow_nonfinite=allow_nonfinite)
    except StateDictError as e:
        raise ModelFileError(f"{p}: {e}") from None
    return model


def _without_seed(config):
    """An architecture without its init seeds (they do not change what the weights mean)."""
    if isinstance(config, dict):
        return {k: _without_seed(v) for k, v in config.items() if k != "seed"}
    if isinstance(config, list):
        return [_without_seed(v) for v in config]
    return config


def load_weights(model: Module, path: PathLike, *, max_bytes: int = MAX_BYTES,
                 allow_nonfinite: bool = False) -> Module:
    """Load the weights in ``path`` into an existing ``model``, all or nothing.

    On any problem ``ModelFileError`` is raised and ``model`` is untouched.
    The file's architecture must match ``model.config()`` when the model
    can describe itself.  nan/inf weights are refused unless
    ``allow_nonfinite=True``.

    >>> import os, tempfile
    >>> from nn import MLP
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json"); save_model(MLP(2, [3, 1], seed=1), path)
    >>> load_weights(MLP(2, [3, 1], seed=0), path).state_dict() == MLP(2, [3, 1], seed=1).state_dict()
    True
    """
    _check_module(model, "load_weights")
    doc = _read(path, max_bytes, "load_weights", allow_nonfinite)
    p = check_path(path, "load_weights")
    try:
        mine = model.config()
    except NotImplementedError:
        mine = None
    if mine is not None and _without_seed(doc["architecture"]) != _without_seed(json.loads(json.dumps(mine))):
        raise ModelFileError(f"{p}: the file holds a different architecture ({str(doc['architecture'])[:200]}) "
                             f"than the model ({str(mine)[:200]})")
    try:
        model.load_state_dict(doc["state"], allow_nonfinite=allow_nonfinite)
    except StateDictError as e:
        raise ModelFileError(f"{p}: {e}") from None
    return model
