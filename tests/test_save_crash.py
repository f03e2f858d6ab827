"""Crash safety of nn.io: a save that dies half way leaves the previous file intact and loadable.

(a) faults raised inside the write (serialisation, temp file creation, the
    write itself, fsync, chmod, the final os.replace, Ctrl-C): the old file
    is byte-for-byte unchanged and no temporary file is left behind;
(b) a writer process saving a large model in a loop is killed with SIGKILL
    at arbitrary moments: the file always loads and holds one of the models
    that were saved, never a mix or a torn write.

Then load's refusals (format version, shapes, nan/inf, size) and the rule
that a failed load leaves the model in memory untouched.
"""
import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

import engine.fileio
import nn.io
from nn import MLP, ModelFileError, load_model, load_weights, save_model
from nn.io import atomic_write_text


def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.json"
    old = MLP(2, [8, 1], seed=0)
    save_model(old, path)
    return path, old, _snapshot(tmp_path)


class Boom(Exception):
    pass


def _raise(*a, **k):
    raise Boom("simulated crash")


class _HalfWriter:
    """A file object that writes half of what it is given, then fails (disk full)."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        raise OSError(28, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


FAULTS = {
    "json.dumps": lambda mp: mp.setattr(nn.io.json, "dumps", _raise),
    "create temp (no space)": lambda mp: mp.setattr(engine.fileio.os, "open",
                                                    lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space"))),
    "write half then fail": lambda mp: mp.setattr(engine.fileio.os, "fdopen",
                                                  lambda fd, mode: _HalfWriter(open(fd, mode, closefd=True))),
    "fsync": lambda mp: mp.setattr(engine.fileio.os, "fsync", _raise),
    "fchmod": lambda mp: mp.setattr(engine.fileio.os, "fchmod", _raise),
    "os.replace": lambda mp: mp.setattr(engine.fileio.os, "replace", _raise),
    "KeyboardInterrupt in write": lambda mp: mp.setattr(
        engine.fileio.os, "fsync", lambda fd: (_ for _ in ()).throw(KeyboardInterrupt())),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_crash_inside_save_keeps_old_file_and_leaves_no_temp(saved, monkeypatch, fault):
    path, old, before = saved
    new = MLP(2, [8, 1], seed=1)
    with monkeypatch.context() as mp:
        FAULTS[fault](mp)
        with pytest.raises((Boom, OSError, KeyboardInterrupt)):
            save_model(new, path)
    assert _snapshot(path.parent) == before  # same file names (no *.tmp) and same bytes
    assert load_model(path).state_dict() == old.state_dict()
    save_model(new, path)  # and the next save, without the fault, works
    assert load_model(path).state_dict() == new.state_dict()
    assert os.listdir(path.parent) == ["model.json"]


@pytest.mark.parametrize("fault", ["write half then fail", "os.replace", "fsync"])
def test_crash_inside_metrics_write_keeps_old_file(tmp_path, monkeypatch, fault):
    path = tmp_path / "metrics.json"
    atomic_write_text(path, '{"old": true}')
    with monkeypatch.context() as mp:
        FAULTS[fault](mp)
        with pytest.raises((Boom, OSError)):
            atomic_write_text(path, '{"new": true}' * 1000)
    assert path.read_text() == '{"old": true}' and os.listdir(tmp_path) == ["metrics.json"]


def test_unsaveable_model_never_touches_the_file(saved):
    path, old, before = saved
    bad = MLP(2, [8, 1], seed=1)
    bad.parameters()[3].data = math.inf
    with pytest.raises(ValueError, match="save_model: weight '0.weight' is inf"):
        save_model(bad, path)
    with pytest.raises(TypeError, match="save_model: metadata"):
        save_model(MLP(2, [8, 1], seed=1), path, metadata={"when": object()})
    assert _snapshot(path.parent) == before


WRITER = textwrap.dedent("""
    import sys
    from nn import MLP, save_model
    path = sys.argv[1]
    models = [MLP(2, [128, 128, 1], seed=s) for s in (1, 2)]
    i = 0
    while True:
        save_model(models[i % 2], path)
        i += 1
        print(i, flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_save_loop_never_corrupts(tmp_path):
    path = tmp_path / "model.json"
    first = MLP(2, [128, 128, 1], seed=0)
    save_model(first, path)
    allowed = [m.state_dict() for m in (first, MLP(2, [128, 128, 1], seed=1), MLP(2, [128, 128, 1], seed=2))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), *sys.path]))
    rng = random.Random(0)
    kills = 0
    for attempt in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                                env=env)
        try:
            # wait until it has saved a few times (it is now somewhere inside a save, most likely)
            for _ in range(2 + attempt):
                line = proc.stdout.readline()
                assert line, "writer died on its own"
            # then stop it at a pseudo-random point: after a burst of its own output lines
            for _ in range(rng.randrange(3)):
                proc.stdout.readline()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        kills += 1
        state = load_model(path).state_dict()  # never raises: the file is always a whole model
        assert state in allowed
    assert kills == 4
    # a killed writer may leave its temp file (the OS cannot run our cleanup); it is never the model,
    # and the next save of the same file removes it (its writer's pid is gone)
    for name in os.listdir(tmp_path):
        assert name == "model.json" or (name.startswith(".model.json~") and name.endswith(".tmp"))
    save_model(first, path)
    assert os.listdir(tmp_path) == ["model.json"]


# -- loads refuse bad files, and leave the model in memory untouched ------------------------

def _doc(model):
    return {"format": "chainrule-model", "format_version": 1, "architecture": model.config(),
            "state": model.state_dict()}


def _bad_files():
    m = MLP(2, [8, 1], seed=3)
    good = json.dumps(_doc(m))
    d = _doc(m)
    d_shape = json.loads(good)
    d_shape["state"]["0.weight"][2] = [1.0, 2.0, 3.0]
    d_short = json.loads(good)
    d_short["state"]["1.bias"] = []
    d_deep = json.loads(good)
    d_deep["state"]["1.bias"] = [[0.0]]
    w = repr(d["state"]["0.weight"][0][1])  # a weight that appears once in the file
    assert good.count(w) == 1
    return {
        "version 2": (json.dumps({**d, "format_version": 2}), "unknown format_version 2"),
        "version 0": (json.dumps({**d, "format_version": 0}), "unknown format_version 0"),
        "version missing": (json.dumps({k: v for k, v in d.items() if k != "format_version"}),
                            "unknown format_version None"),
        "version string": (json.dumps({**d, "format_version": "1"}), "unknown format_version '1'"),
        "row too long": (json.dumps(d_shape), "'0.weight'[2] has the wrong shape"),
        "empty bias": (json.dumps(d_short), "'1.bias' has the wrong shape"),
        "too deep": (json.dumps(d_deep), "'1.bias'[0] must be a number"),
        "NaN": (good.replace(w, "NaN"), "NaN"),
        "Infinity": (good.replace(w, "Infinity"), "Infinity"),
        "-Infinity": (good.replace(w, "-Infinity"), "-Infinity"),
        "1e999": (good.replace(w, "1e999"), "'0.weight'[0][1] must be finite"),
        "oversize": (good + " " * (1 << 16), "byte limit"),
    }


BAD = _bad_files()


@pytest.mark.parametrize("name", sorted(BAD))
def test_load_rejects_and_model_is_untouched(tmp_path, name):
    content, needle = BAD[name]
    path = tmp_path / "bad.json"
    path.write_text(content)
    limit = {"max_bytes": 1 << 16} if name == "oversize" else {}
    with pytest.raises(ModelFileError, match=None) as err:
        load_model(path, **limit)
    assert needle in str(err.value) and str(path) in str(err.value)
    target = MLP(2, [8, 1], seed=0)
    before = target.state_dict()
    with pytest.raises(ModelFileError) as err2:
        load_weights(target, path, **limit)
    assert needle in str(err2.value)
    assert target.state_dict() == before


@pytest.mark.parametrize("name", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_allow_nonfinite_loads_them(tmp_path, name):
    content, _ = BAD[name]
    path = tmp_path / "nf.json"
    path.write_text(content)
    model = load_model(path, allow_nonfinite=True)
    assert any(not math.isfinite(x) for x in (p.data for p in model.parameters()))
    target = MLP(2, [8, 1], seed=0)
    load_weights(target, path, allow_nonfinite=True)
    assert target.state_dict().keys() == model.state_dict().keys()
    assert repr(target.state_dict()) == repr(model.state_dict())  # repr: nan != nan


def test_oversize_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate(nn.io.MAX_BYTES + 1)  # sparse file
    opened = []
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
    with pytest.raises(ModelFileError, match="over the 67108864-byte limit"):
        load_model(path)
    assert opened == []
