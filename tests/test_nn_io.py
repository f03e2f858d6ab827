"""nn.io: JSON save/load round trip, atomic writes, validated loads with clear errors."""
import json
import os

import pytest

from nn import MLP, Sequential, Layer, BatchNorm
from nn.io import FORMAT_VERSION, ModelFileError, load_model, load_weights, save_model


def _preds(model, xs):
    return model.predict(xs)


XS = [[0.1, 0.2], [-1.0, 0.5], [2.0, -3.0]]


def test_round_trip_gives_identical_predictions(tmp_path):
    model = MLP(2, [8, 8, 3], activation="tanh", seed=4)
    path = tmp_path / "m.json"
    save_model(model, path)
    loaded = load_model(path)
    assert type(loaded) is MLP and loaded.config() == model.config()
    assert _preds(loaded, XS) == _preds(model, XS)  # exact, not approx: floats survive JSON (repr)
    assert loaded.state_dict() == model.state_dict()


def test_round_trip_batchnorm_buffers(tmp_path):
    model = MLP(2, [4, 1], batchnorm=True, seed=0)
    model.forward_batch(XS)  # moves the running statistics
    path = tmp_path / "bn.json"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.state_dict() == model.state_dict()
    assert _preds(loaded, XS) == _preds(model, XS)


def test_round_trip_sequential(tmp_path):
    model = Sequential(Layer(2, 3, seed=0), BatchNorm(3), Layer(3, 2, "linear", seed=1))
    save_model(model, tmp_path / "s.json")
    assert _preds(load_model(tmp_path / "s.json"), XS) == _preds(model, XS)


def test_file_is_plain_json_with_version(tmp_path):
    save_model(MLP(2, [3, 1], seed=0), tmp_path / "m.json", metadata={"note": "hi"})
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["format_version"] == FORMAT_VERSION
    assert doc["architecture"]["type"] == "MLP"
    assert doc["metadata"] == {"note": "hi"}
    assert len(doc["state"]["0.weight"]) == 3 and len(doc["state"]["0.weight"][0]) == 2


def test_atomic_write_leaves_no_temp_files_and_replaces(tmp_path):
    path = tmp_path / "m.json"
    save_model(MLP(2, [3, 1], seed=0), path)
    save_model(MLP(2, [3, 1], seed=1), path)
    assert os.listdir(tmp_path) == ["m.json"]
    assert load_model(path).state_dict() == MLP(2, [3, 1], seed=1).state_dict()


def test_failed_save_keeps_old_file(tmp_path):
    path = tmp_path / "m.json"
    save_model(MLP(2, [3, 1], seed=0), path)
    before = path.read_bytes()
    bad = MLP(2, [3, 1], seed=1)
    bad.parameters()[0].data = float("nan")
    with pytest.raises(ValueError, match="nan"):
        save_model(bad, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


def _write(tmp_path, text, name="bad.json"):
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return p


def _good_doc():
    return {"format": "chainrule-model", "format_version": 1,
            "architecture": MLP(2, [3, 1], seed=0).config(), "state": MLP(2, [3, 1], seed=0).state_dict()}


def _mutated(fn):
    d = _good_doc()
    fn(d)
    return json.dumps(d)


@pytest.mark.parametrize("content,match", [
    ("", "empty"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    ("{not json", "invalid JSON"),
    ("[1, 2]", "top level"),
    ('{"format": "other"}', "not a chainrule model file"),
    (_mutated(lambda d: d.__setitem__("format_version", 99)), "unknown format_version 99"),
    (_mutated(lambda d: d.pop("state")), "missing key 'state'"),
    (_mutated(lambda d: d.pop("architecture")), "missing key 'architecture'"),
    (_mutated(lambda d: d["state"].pop("1.bias")), "missing key.*1.bias"),
    (_mutated(lambda d: d["state"]["0.weight"].pop()), "'0.weight' has the wrong shape"),
    (_mutated(lambda d: d["state"]["0.bias"].__setitem__(1, "0.5")), "'0.bias'\\[1\\] must be a number"),
    (_mutated(lambda d: d["architecture"].__setitem__("type", "Transformer")), "unknown module type"),
    (_mutated(lambda d: d["architecture"].__setitem__("nouts", "big")), "bad architecture"),
    (_mutated(lambda d: d.__setitem__("state", [])), "must be a JSON object"),
    (json.dumps(_good_doc()).replace("[[", "[[NaN, ", 1), "NaN"),
    ('{"format": "chainrule-model", "format_version": 1, "state": {"a": Infinity}}', "Infinity"),
])
def test_bad_files_give_documented_error(tmp_path, content, match):
    with pytest.raises(ModelFileError, match=match):
        load_model(_write(tmp_path, content))


def test_truncated_file(tmp_path):
    path = tmp_path / "m.json"
    save_model(MLP(2, [8, 1], seed=0), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 1, 10):
        p = _write(tmp_path, data[:cut], f"t{cut}.json")
        with pytest.raises(ModelFileError, match="invalid JSON.*truncated"):
            load_model(p)


def test_oversize_file_rejected_before_parsing(tmp_path):
    path = tmp_path / "m.json"
    save_model(MLP(2, [8, 1], seed=0), path)
    with pytest.raises(ModelFileError, match="over the 100-byte limit"):
        load_model(path, max_bytes=100)


def test_missing_file_is_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.json")


def test_load_weights_leaves_model_untouched_on_failure(tmp_path):
    target = MLP(2, [3, 1], seed=0)
    before = target.state_dict()
    bad = _good_doc()
    bad["state"] = MLP(2, [3, 1], seed=9).state_dict()
    bad["state"]["1.weight"][0][2] = "x"  # the last tensor is bad: nothing before it may be written
    p = _write(tmp_path, json.dumps(bad))
    with pytest.raises(ModelFileError, match="'1.weight'\\[0\\]\\[2\\] must be a number"):
        load_weights(target, p)
    assert target.state_dict() == before


def test_load_weights_into_existing_model(tmp_path):
    src = MLP(2, [3, 1], seed=5)
    save_model(src, tmp_path / "m.json")
    dst = MLP(2, [3, 1], seed=0)  # different init seed, same architecture: fine
    load_weights(dst, tmp_path / "m.json")
    assert _preds(dst, XS) == _preds(src, XS)
    with pytest.raises(ModelFileError, match="different architecture"):
        load_weights(MLP(2, [3, 1], activation="tanh"), tmp_path / "m.json")


def test_never_pickle():
    import nn.io
    src = open(nn.io.__file__).read()
    assert "pickle" not in src.replace("Never pickle", "")


def test_bad_paths_and_circular_metadata_get_their_own_messages(tmp_path):
    m = MLP(2, [1], seed=0)
    for call in (lambda p: save_model(m, p), load_model):
        with pytest.raises(ValueError, match="path is empty"):
            call("")
        with pytest.raises(ValueError, match="holds a NUL character"):
            call(str(tmp_path / "a\0b.json"))
    loop = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="metadata holds itself"):
        save_model(m, tmp_path / "m.json", metadata=loop)
    assert not (tmp_path / "m.json").exists()
