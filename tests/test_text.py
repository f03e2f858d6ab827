"""nn.text: the character vocabulary and the generated names."""
import random

import pytest

from nn.text import CharVocab, make_names


def test_default_vocab_matches_the_w5_benchmark_tokens():
    vocab = CharVocab()
    assert len(vocab) == 27
    assert vocab.encode("ann") == [0, 1, 14, 14, 0]  # benchmarks/gpt_model.tokens("ann")
    assert vocab.encode("ann", boundaries=False) == [1, 14, 14]
    assert vocab.decode([0, 1, 14, 14, 0]) == "ann"
    assert vocab.decode([0, 1, 0], boundaries=True) == ".a."
    assert vocab.decode(vocab.encode("zebra")) == "zebra"


def test_from_texts():
    vocab = CharVocab.from_texts(["héllo", "world"], boundary="#")
    assert vocab.chars == "dhlorwé"
    assert vocab.decode(vocab.encode("héllo")) == "héllo"
    assert repr(vocab) == "CharVocab('dhlorwé', boundary='#')"


@pytest.mark.parametrize("call,exc,match", [
    (lambda v: v.encode("Emma"), ValueError, r"character 'E' at position 0 of 'Emma' is not in the vocabulary"),
    (lambda v: v.encode("a.b"), ValueError, "is the boundary token"),
    (lambda v: v.encode(["a"]), TypeError, "expected a str"),
    (lambda v: v.decode([0, 27]), ValueError, r"id 27 at position 1 is not a token id in 0\.\.26"),
    (lambda v: v.decode([1.0]), ValueError, "id 1.0"),
    (lambda v: v.decode("abc"), TypeError, "expected a list of token ids"),
])
def test_vocab_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(CharVocab())


@pytest.mark.parametrize("args,exc,match", [
    (("aa",), ValueError, "distinct"),
    (("ab", ".."), TypeError, "boundary must be one character"),
    (("a.",), ValueError, "also in chars"),
    (("",), TypeError, "non-empty"),
])
def test_vocab_bad_construction(args, exc, match):
    with pytest.raises(exc, match=match):
        CharVocab(*args)
    with pytest.raises(TypeError, match="wrap it"):
        CharVocab.from_texts("abc")
    with pytest.raises(ValueError, match="occurs in the texts"):
        CharVocab.from_texts(["a.b"])


def test_make_names_is_seeded_distinct_and_in_range():
    names = make_names(500, seed=3)
    assert names == make_names(500, seed=3)
    assert names != make_names(500, seed=4)
    assert len(set(names)) == 500
    assert all(3 <= len(n) <= 10 and n.isalpha() and n.islower() for n in names)
    short = make_names(50, seed=0, min_len=2, max_len=4)
    assert all(2 <= len(n) <= 4 for n in short)
    assert make_names(3, seed=random.Random(1)) == make_names(3, seed=random.Random(1))
    vocab = CharVocab()
    assert all(vocab.decode(vocab.encode(n)) == n for n in names)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=20001), ValueError, "n must be <= 20000"),
    (dict(n=5, min_len=6, max_len=5), ValueError, r"min_len \(6\) must be <= max_len \(5\)"),
    (dict(n=5, seed=1.5), TypeError, "seed must be an int"),
    (dict(n=2.0), TypeError, "n must be an int"),
    (dict(n=500, min_len=1, max_len=1), ValueError, "found only"),
])
def test_make_names_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_names(**kwargs)
