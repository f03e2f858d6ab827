"""nn.csvdata.load_csv (issue 16, item 1): the CSV shapes users bring, and every bad one named precisely."""
import pytest

from nn.csvdata import CSVError, load_csv, write_csv


def _csv(tmp_path, text, name="data.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


GOOD = "a,b,label\n1,2,cat\n3,4.5,dog\n-1,0,cat\n"


def test_basic_classification(tmp_path):
    t = load_csv(_csv(tmp_path, GOOD), "label")
    assert t.X == [[1.0, 2.0], [3.0, 4.5], [-1.0, 0.0]]
    assert t.y == [0, 1, 0] and t.classes == ["cat", "dog"] and t.features == ["a", "b"]
    assert t.task == "classification" and t.reason == "the target holds text" and t.lines == [2, 3, 4]


def test_quotes_bom_crlf_and_blank_lines(tmp_path):
    text = '\ufeff"a","b, with comma",label\r\n"1","2",cat\r\n\r\n3,4,"dog"\r\n\r\n\r\n'
    t = load_csv(_csv(tmp_path, text), "label")
    assert t.features == ["a", "b, with comma"] and t.X == [[1.0, 2.0], [3.0, 4.0]] and t.classes == ["cat", "dog"]


def test_features_subset_and_order(tmp_path):
    t = load_csv(_csv(tmp_path, "a,b,c,y\n1,2,3,0\n4,5,6,1\n"), "y", features=["c", "a"])
    assert t.features == ["c", "a"] and t.X == [[3.0, 1.0], [6.0, 4.0]]


@pytest.mark.parametrize("values,task,reason", [
    (["0", "1", "2", "1"], "classification", "3 distinct integer values"),
    (["1.5", "2", "3", "4"], "regression", "non-integer numbers"),
    ([str(i) for i in range(25)], "regression", "25 distinct integer values (over 20)"),
    (["yes", "no", "yes", "no"], "classification", "text"),
])
def test_auto_task(tmp_path, values, task, reason):
    text = "x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    t = load_csv(_csv(tmp_path, text), "y")
    assert t.task == task and reason in t.reason


def test_numeric_class_names_sorted_numerically_and_kept_as_written(tmp_path):
    t = load_csv(_csv(tmp_path, "x,y\n1,10\n2,9\n3,10.0\n4,2\n"), "y")
    assert t.classes == ["2", "9", "10"] and t.y == [2, 1, 2, 0]


def test_task_forced(tmp_path):
    t = load_csv(_csv(tmp_path, "x,y\n1,0\n2,1\n3,1\n"), "y", task="regression")
    assert t.task == "regression" and t.y == [0.0, 1.0, 1.0] and t.reason == "asked for"
    with pytest.raises(CSVError, match=r"line 2, column 'y': 'cat' is not a number; regression needs"):
        load_csv(_csv(tmp_path, "x,y\n1,cat\n2,dog\n"), "y", task="regression")


BAD = {
    "missing target": ("a,b\n1,2\n", "no column 'y' for the target; the columns are: a, b"),
    "ragged row": ("a,b,y\n1,2,0\n1,2\n3,4,1\n", "line 3: expected 3 fields (as in the header), got 2"),
    "too many fields": ("a,b,y\n1,2,0,9\n", "line 2: expected 3 fields (as in the header), got 4"),
    "non-numeric cell": ("a,b,y\n1,2,0\n1,abc,1\n", "line 3, column 'b': 'abc' is not a number"),
    "empty cell": ("a,b,y\n1,,0\n1,2,1\n", "line 2, column 'b': empty cell"),
    "nan cell": ("a,b,y\n1,nan,0\n1,2,1\n", "line 2, column 'b': 'nan' is not a finite number"),
    "inf cell": ("a,b,y\n1,2,0\n-inf,2,1\n", "line 3, column 'a': '-inf' is not a finite number"),
    "empty file": ("", "the file is empty; expected a header row"),
    "blank lines only": ("\n\n\n", "the file is empty"),
    "header only": ("a,b,y\n", "has a header but no data rows"),
    "single class": ("a,y\n1,cat\n2,cat\n", "has a single class 'cat'"),
    "constant regression target": ("a,y\n1,2.5\n2,2.5\n", "same value '2.5' in every row"),
    "duplicate columns": ("a,b,a,y\n1,2,3,0\n", "duplicate column name 'a' (columns 1 and 3)"),
    "unnamed column": ("a,,y\n1,2,0\n", "column 2 has no name"),
    "empty target cell": ("a,y\n1,cat\n2,\n", "line 3, column 'y': empty target cell"),
    "nan target": ("a,y\n1,1.5\n2,nan\n", "line 3, column 'y': 'nan' is not a finite number"),
    "bad quoting": ('a,y\n1,"cat\n', "malformed CSV"),
    "only the target": ("y\n1\n2\n", "no feature columns"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_named_precisely(tmp_path, name):
    text, needle = BAD[name]
    p = _csv(tmp_path, text)
    with pytest.raises(CSVError) as err:
        load_csv(p, "y")
    assert needle in str(err.value) and str(p) in str(err.value)


def test_not_utf8(tmp_path):
    p = _csv(tmp_path, "a,y\n1,caf\xe9\n2,th\xe9\n", encoding="latin-1")
    with pytest.raises(CSVError, match="not UTF-8 text at line 2, byte 6 of the line"):
        load_csv(p, "y")


def test_features_errors(tmp_path):
    p = _csv(tmp_path, GOOD)
    with pytest.raises(CSVError, match="unknown feature column\\(s\\) 'c', 'd'; the columns are: a, b, label"):
        load_csv(p, "label", features=["a", "c", "d"])
    with pytest.raises(CSVError, match="'label' is the target; it cannot also be a feature"):
        load_csv(p, "label", features=["a", "label"])
    with pytest.raises(CSVError, match="listed twice"):
        load_csv(p, "label", features=["a", "a"])
    with pytest.raises(TypeError, match="load_csv: features must be a list of column names"):
        load_csv(p, "label", features="a,b")
    with pytest.raises(TypeError, match="load_csv: target must be a column name"):
        load_csv(p, 2)
    with pytest.raises(ValueError, match="load_csv: unknown task 'clustering'"):
        load_csv(p, "label", task="clustering")


def test_files_that_are_not_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path / "nope.csv", "y")
    with pytest.raises(IsADirectoryError):
        load_csv(tmp_path, "y")


def test_write_csv_round_trip(tmp_path):
    rows = [[0.1, 1e-300, "a,b"], [-2.5, 3.0, 'quote"d']]
    assert write_csv(tmp_path / "o.csv", ["x", "z", "label"], rows) == 2
    t = load_csv(tmp_path / "o.csv", "label")
    assert t.X == [[0.1, 1e-300], [-2.5, 3.0]] and sorted(t.classes) == ['a,b', 'quote"d']


def test_write_csv_failure_leaves_nothing(tmp_path):
    def rows():
        yield [1, 2]
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        write_csv(tmp_path / "o.csv", ["a", "b"], rows())
    assert list(tmp_path.iterdir()) == []


def test_big_integer_class_labels_stay_apart(tmp_path):
    """Labels past 2**53 used to be keyed by float(): two distinct ids became one class."""
    from nn.data import load_csv
    p = tmp_path / "b.csv"
    p.write_text("x,y\n1,12345678901234567891\n2,12345678901234567890\n3,5\n4,5.0\n")
    t = load_csv(p, target="y")
    assert len(t.classes) == 3 and t.y[0] != t.y[1] and t.y[2] == t.y[3]


def test_make_names_takes_a_numpy_seed():
    np = pytest.importorskip("numpy")
    from nn.text import make_names
    assert make_names(3, seed=np.int64(3)) == make_names(3, seed=3)
