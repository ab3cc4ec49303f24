"""Parse English number words: "two hundred and fifty", "a dozen", "twenty-first"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from polyphrase.fidelity.lexicon import ORDINAL_WORDS, SCALE_WORDS, SMALL_NUMBER_WORDS, TENS_WORDS


@dataclass(frozen=True, slots=True)
class WordNumber:
    """One number written in words, with its character span in the text."""

    value: int
    start: int
    end: int
    has_scale: bool


_WORD = re.compile(r"[a-z]+")

# Word kinds that may follow each kind inside one number: "twenty" may take
# "one" and "hundred" may take "twenty", but "one" may not take "two".
_MAY_FOLLOW: dict[str, frozenset[str]] = {
    "article": frozenset({"hundred", "scale", "dozen"}),
    "zero": frozenset(),
    "unit": frozenset({"hundred", "scale", "dozen"}),
    "teen": frozenset({"hundred", "scale", "dozen"}),
    "tens": frozenset({"unit", "hundred", "scale", "dozen"}),
    "hundred": frozenset({"unit", "teen", "tens", "scale"}),
    "scale": frozenset({"unit", "teen", "tens", "hundred"}),
    "dozen": frozenset(),
}


def parse_number_words(words: str, offset: int = 0) -> list[WordNumber]:
    """Split a run of number words into numbers.

    `words` contains only number words, "a"/"an" before a scale word, "and",
    spaces and hyphens. "two hundred and fifty" is one number, but "two three"
    and "five and six" are two each. Spans are shifted by `offset`.
    """
    tokens = [(match.group(), offset + match.start(), offset + match.end()) for match in _WORD.finditer(words.lower())]
    return list(_group(tokens))


def ordinal_word_value(words: str) -> int:
    """Return the value of an ordinal in words: "third" is 3, "twenty-first" is 21."""
    return sum(TENS_WORDS.get(word, 0) + ORDINAL_WORDS.get(word, 0) for word in re.split(r"[ -]", words.lower()))


def _word_kind(word: str) -> tuple[str, int]:
    if word in ("a", "an"):
        return "article", 1
    if word == "zero":
        return "zero", 0
    if word in SMALL_NUMBER_WORDS:
        value = SMALL_NUMBER_WORDS[word]
        return ("unit" if value < 10 else "teen"), value
    if word in TENS_WORDS:
        return "tens", TENS_WORDS[word]
    if word == "hundred":
        return "hundred", 100
    if word == "dozen":
        return "dozen", 12
    return "scale", int(SCALE_WORDS[word])


def _group(tokens: list[tuple[str, int, int]]) -> Iterator[WordNumber]:
    total = current = 0
    start = end = -1
    last_kind: str | None = None
    has_scale = False

    for word, word_start, word_end in tokens:
        if word == "and":
            continue
        kind, value = _word_kind(word)
        if last_kind is not None and kind not in _MAY_FOLLOW[last_kind]:
            yield WordNumber(total + current, start, end, has_scale)
            total = current = 0
            last_kind = None
            has_scale = False
        if last_kind is None:
            start = word_start

        if kind in ("unit", "teen", "tens", "zero"):
            current += value
        elif kind == "article":
            current = 1
        elif kind in ("hundred", "dozen"):
            current = (current or 1) * value
            has_scale = True
        else:
            total += (current or 1) * value
            current = 0
            has_scale = True
        end = word_end
        last_kind = kind

    if last_kind is not None:
        yield WordNumber(total + current, start, end, has_scale)
