"""Text data for sequence models: a character vocabulary and a names data set made in code.

>>> from nn.text import CharVocab, make_names
>>> vocab = CharVocab()                      # "." (the boundary, id 0) then a..z (ids 1..26)
>>> vocab.encode("emma")                     # a name between two boundary tokens
[0, 5, 13, 13, 1, 0]
>>> vocab.decode([0, 5, 13, 13, 1, 0])
'emma'
>>> names = make_names(5, seed=0); len(names), all(3 <= len(n) <= 10 for n in names)
(5, True)

``make_names`` draws pronounceable names from a seeded syllable model
(onsets, vowels, codas and endings with fixed weights, in a few styles), so
a tiny GPT has real structure to learn and nothing is downloaded: the same
seed gives the same list on every machine and Python.
"""
from __future__ import annotations

import numbers
import random
from typing import Iterable, List, Sequence, Union

__all__ = ["CharVocab", "make_names"]

LETTERS = "abcdefghijklmnopqrstuvwxyz"


class CharVocab:
    """Characters <-> token ids; id 0 is the boundary token that starts and ends every sequence.

    ``CharVocab(chars=LETTERS, boundary=".")``: ``boundary`` gets id 0 and
    ``chars`` ids ``1..len(chars)`` in order (so the default matches
    ``benchmarks/gpt_model.py``: a..z are 1..26).  ``len(vocab)`` is the
    ``vocab_size`` a model needs.

    >>> vocab = CharVocab.from_texts(["bob", "abe"])
    >>> vocab.chars, len(vocab), vocab.encode("ab", boundaries=False)
    ('abeo', 5, [1, 2])
    """

    __slots__ = ("chars", "boundary", "_ids")

    boundary_id = 0

    def __init__(self, chars: str = LETTERS, boundary: str = ".") -> None:
        if not isinstance(chars, str) or not chars:
            raise TypeError(f"CharVocab: chars must be a non-empty str of distinct characters, got {chars!r}"[:200])
        if not isinstance(boundary, str) or len(boundary) != 1:
            raise TypeError(f"CharVocab: boundary must be one character, got {boundary!r}"[:200])
        if len(set(chars)) != len(chars):
            dup = sorted({c for c in chars if chars.count(c) > 1})
            raise ValueError(f"CharVocab: chars must be distinct, got {''.join(dup)!r} more than once")
        if boundary in chars:
            raise ValueError(f"CharVocab: the boundary {boundary!r} is also in chars; choose another boundary")
        self.chars = chars
        self.boundary = boundary
        self._ids = {c: i + 1 for i, c in enumerate(chars)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], boundary: str = ".") -> "CharVocab":
        """The vocabulary of every character in ``texts``, sorted."""
        if isinstance(texts, str):
            raise TypeError("CharVocab.from_texts: expected a list of strings, got one str; wrap it: [text]")
        seen = set()
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"CharVocab.from_texts: texts[{i}] must be a str, got {type(t).__name__}")
            seen.update(t)
        if boundary in seen:
            raise ValueError(f"CharVocab.from_texts: the boundary {boundary!r} occurs in the texts; "
                             f"choose another boundary")
        return cls("".join(sorted(seen)), boundary)

    def __len__(self) -> int:
        return len(self.chars) + 1

    def __repr__(self) -> str:
        return f"CharVocab({self.chars!r}, boundary={self.boundary!r})"

    def encode(self, text: str, *, boundaries: bool = True) -> List[int]:
        """Token ids of ``text``, between two boundary tokens unless ``boundaries=False``."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: expected a str, got {type(text).__name__}")
        ids = self._ids
        try:
            out = [ids[c] for c in text]
        except KeyError:
            i, c = next((i, c) for i, c in enumerate(text) if c not in ids)
            what = "the boundary token" if c == self.boundary else "not in the vocabulary"
            raise ValueError(f"CharVocab.encode: character {c!r} at position {i} of {text!r} is {what} "
                             f"(vocabulary: {self.chars!r})"[:300]) from None
        return [0, *out, 0] if boundaries else out

    def decode(self, ids: Sequence[int], *, boundaries: bool = False) -> str:
        """The text of token ids; boundary tokens are dropped (written as ``boundary`` with ``boundaries=True``)."""
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise TypeError(f"CharVocab.decode: expected a list of token ids, got {type(ids).__name__}")
        chars, n, out = self.chars, len(self.chars), []
        for t, i in enumerate(ids):
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i <= n:
                raise ValueError(f"CharVocab.decode: id {i!r} at position {t} is not a token id in 0..{n}"[:200])
            if i:
                out.append(chars[i - 1])
            elif boundaries:
                out.append(self.boundary)
        return "".join(out)


# ---------------------------------------------------------------------------
# The names model: a name is 1-3 syllables (onset + vowel + optional coda)
# plus an ending, in one of a few styles, each with its own weights.

_STYLES = [
    {  # soft, vowel-rich: "lunara", "mireli"
        "onsets": "l:6 m:5 n:5 r:4 s:3 v:2 th:1 el:1 :2",
        "vowels": "a:6 e:5 i:5 o:3 u:1 ia:1 ae:1",
        "codas": ":12 n:2 l:2 r:1",
        "endings": "a:6 ia:3 elle:2 ine:2 ie:2 ara:2 is:1",
        "syllables": (1, 2),
    },
    {  # strong, consonant clusters: "brandon", "kestor"
        "onsets": "b:3 br:2 d:3 dr:1 g:2 gr:1 k:3 kr:1 t:3 tr:1 st:1 j:2 c:2 :1",
        "vowels": "a:5 o:4 e:3 i:2 u:2",
        "codas": ":6 n:3 r:3 l:2 s:2 nd:1 st:1 rk:1 m:1",
        "endings": "on:4 er:3 an:3 o:2 us:2 ric:1 den:1 ton:1",
        "syllables": (1, 2),
    },
    {  # short and bright: "kiko", "tami"
        "onsets": "k:4 t:4 m:3 n:3 h:2 s:2 y:2 p:1",
        "vowels": "a:4 i:4 o:3 u:2 e:1",
        "codas": ":1",
        "endings": "i:4 o:3 a:3 y:2 ko:1 mi:1",
        "syllables": (1, 3),
    },
    {  # classic: "adele", "marian"
        "onsets": "m:3 l:3 r:2 d:2 h:2 j:2 c:1 ch:1 f:1 :3",
        "vowels": "a:5 e:5 o:2 i:2 au:1 ei:1",
        "codas": ":8 r:2 l:2 n:1 s:1 th:1",
        "endings": "e:5 a:4 an:2 ette:1 ora:1 ine:1 elle:1 y:2",
        "syllables": (1, 2),
    },
]


def _weighted(spec: str) -> tuple:
    pairs = [item.split(":") for item in spec.split()]
    return [p for p, _ in pairs], [int(w) for _, w in pairs]


_TABLES = [dict([(key, _weighted(style[key])) for key in ("onsets", "vowels", "codas", "endings")],
                syllables=style["syllables"]) for style in _STYLES]


_VOWELS = set("aeiouy")


def _pronounceable(name: str) -> bool:
    """No three vowels in a row, no three consonants in a row (``th``/``ch`` count as one)."""
    shape = "".join("v" if c in _VOWELS else "c" for c in name.replace("th", "T").replace("ch", "C"))
    return "vvv" not in shape and "ccc" not in shape


def _name(rng: random.Random) -> str:
    table = rng.choice(_TABLES)
    parts = []
    for _ in range(rng.randint(*table["syllables"])):
        for key in ("onsets", "vowels", "codas"):
            items, weights = table[key]
            parts.append(rng.choices(items, weights)[0])
    items, weights = table["endings"]
    name = "".join(parts)
    ending = rng.choices(items, weights)[0]
    if name and ending and name[-1] in "aeiouy" and ending[0] in "aeiouy":
        name = name[:-1]  # "lunaa" -> "luna": no vowel pile-up where syllable and ending meet
    return name + ending


def make_names(n: int = 1000, *, seed: Union[int, random.Random, None] = 0, min_len: int = 3,
               max_len: int = 10) -> List[str]:
    """``n`` distinct pronounceable names (lowercase a..z), seeded; no downloads.

    Each name has ``min_len`` to ``max_len`` letters; the list is in the
    order drawn (shuffle or split it yourself).  At most 20,000 names (the
    model has only so many distinct ones in that length range).

    >>> make_names(4, seed=1) == make_names(4, seed=1)
    True
    """
    where = "make_names"
    n = _int(n, "n", where, 1)
    min_len = _int(min_len, "min_len", where, 1)
    max_len = _int(max_len, "max_len", where, 1)
    if n > 20_000:
        raise ValueError(f"{where}: n must be <= 20000 (the syllable model has only so many distinct names), "
                         f"got {n}")
    if min_len > max_len:
        raise ValueError(f"{where}: min_len ({min_len}) must be <= max_len ({max_len})")
    if isinstance(seed, random.Random):
        rng = seed
    elif seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        rng = random.Random(None if seed is None else int(seed))  # (numpy's ints as Python ints)
    else:
        raise TypeError(f"{where}: seed must be an int, None or a random.Random, got {type(seed).__name__}")
    names, seen = [], set()
    misses = 0
    while misses < 2_000:  # draws in a row without a new name (20,000 names: at most ~20): range used up
        name = _name(rng)
        if min_len <= len(name) <= max_len and name not in seen and _pronounceable(name):
            seen.add(name)
            names.append(name)
            if len(names) == n:
                return names
            misses = 0
        else:
            misses += 1
    raise ValueError(f"{where}: found only {len(names)} distinct names of {min_len}..{max_len} letters; "
                     f"ask for fewer or widen the length range")


def _int(value, name: str, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int >= {minimum}, got {type(value).__name__} {value!r}"[:200])
    if value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value}")
    return int(value)
