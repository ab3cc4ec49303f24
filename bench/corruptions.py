"""Labelled corruptions of real paragraphs, each paired with a faithful rewrite, made without an LLM.

Both rewrites of a pair start from the same source paragraph. The faithful
rewrite changes only the form: long numbers and units are rewritten ("7,000,000"
to "7 million", "330 metres" to "330 m"), a few connectors and words become
synonyms, and two adjacent sentences that do not lean on each other swap
places. The corrupted rewrite is that faithful rewrite with one factual change,
so the two differ in nothing but the corruption.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from random import Random
from typing import Literal, NamedTuple, get_args

CorruptionType = Literal["number", "date", "entity", "dropped_sentence", "added_claim", "negation"]
CORRUPTION_TYPES: tuple[CorruptionType, ...] = get_args(CorruptionType)

MIN_PARAGRAPH_CHARS = 200
MAX_PARAGRAPH_CHARS = 1200

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
# "March" and "May" are verbs too, so a date change never picks them.
_DATE_MONTHS = tuple(month for month in _MONTHS if month not in ("March", "May"))
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Words that refer back to an earlier sentence when they open one, so such a sentence never moves.
_DEPENDENT_STARTS = frozenset(
    "He She It They We I You This These That Those His Her Its Their Our My Such There Here Then Thus So "
    "However But And Or Yet Still Also Therefore Hence Nevertheless Later Afterwards After Next Finally "
    "Soon Meanwhile Instead Both Each Neither Either Another Other Further Furthermore Moreover Again "
    "Similarly Likewise Consequently Otherwise Indeed Nor".split()
)
_DEPENDENT_WORDS = re.compile(r"\b(?:this|these|those|such|also|too|again|former|latter|above|aforementioned)\b", re.I)

# Capitalised words that are no named entity even in the middle of a sentence.
_NOT_NAMES = frozenset({"I", "God", *_MONTHS, *_WEEKDAYS})

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof gen col capt lt gov sen rep rev vs etc e.g i.e no vol fig approx inc ltd co mt ft "
    "u.s u.k a.m p.m jan feb mar apr aug sep sept oct nov dec".split()
)
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_LAST_WORD = re.compile(r"(\S+)$")
_TERMINAL = re.compile(r"[.!?][\"'\u201d\u2019)]*$")

_MARKUP_LINE = re.compile(r"^(?:[#|*+>=~^`:\[{$<-]|\.\.|\d+[.)]\s|>>>)")
_MARKUP = re.compile(r"[`{}$<>|\\_*=\[\]]|::|https?:")

# Characters after which a capitalised word may open a sentence or a heading rather than name something.
_OPENS_SENTENCE = ".!?:;(\"'\u201c\u2018\u2014\u2013-"
_NAME = re.compile(r"\b[A-Z][a-zA-Z]*[a-z](?: [A-Z][a-zA-Z]*[a-z])*\b")
# A number in digits, not glued to letters ("CO2", "1st", "1960s") nor part of a time, version or range.
_NUMBER = re.compile(r"(?<![\w.,:/-])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w:/]|[.,]\d)")
_NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_NUMBER_WORD = re.compile(rf"\b(?:{'|'.join(_NUMBER_WORDS)})\b", re.I)
_YEAR = re.compile(r"(?<![\w.,:/$-])(1\d{3}|20\d\d)(?![\w%]|[.,]\d)")
_DECADE = re.compile(r"(?<![\w.,$-])(1\d{2}0|20\d0)s\b")
_MONTH_IN_DATE = re.compile(rf"\b({'|'.join(_DATE_MONTHS)})\b(?= \d)|(?<=\d )({'|'.join(_DATE_MONTHS)})\b")
# Words before a four-digit number that make it a year rather than a count.
_YEAR_CONTEXT = frozenset(
    "in of since by until till from to and or between after before during around year early late mid circa c.".split()
) | {month.lower() for month in _MONTHS}

_NEGATED = re.compile(r"\b(is|are|was|were|can|could|will|would|should|must|may|might|does|do|did|has|have|had) not\b(?! only)")
_CONTRACTED = re.compile(r"\b(is|are|was|were|ca|could|wo|would|should|does|do|did|has|have|had)n['\u2019]t\b|\bcannot\b")
_AFFIRMATIVE = re.compile(r"\b(is|are|was|were|can|could|will|would|should|must)\b(?= [a-z])(?! not\b| also\b)")
_UNCONTRACTED = {"ca": "can", "wo": "will"}

_LONG_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3}){2,})(?![\w]|[.,]\d)")
_UNIT_SYMBOLS = {
    "metres": "m", "meters": "m", "metre": "m", "meter": "m",
    "kilometres": "km", "kilometers": "km", "kilometre": "km", "kilometer": "km",
    "centimetres": "cm", "centimeters": "cm", "millimetres": "mm", "millimeters": "mm",
    "kilograms": "kg", "kilogram": "kg", "per cent": "%", "percent": "%",
}
_UNIT_WORD = re.compile(rf"(?<=\d) ({'|'.join(sorted(_UNIT_SYMBOLS, key=len, reverse=True))})\b")
# One direction only, applied in a single pass, so no replacement is replaced again.
_SYNONYMS = {
    "approximately": "about",
    "in order to": "to",
    "additionally,": "also,",
    "however,": "nevertheless,",
    "therefore": "thus",
    "began": "started",
    "begins": "starts",
    "nearly": "almost",
    "largest": "biggest",
    "numerous": "many",
    "utilize": "use",
    "utilized": "used",
    "purchased": "bought",
    "whilst": "while",
    "amongst": "among",
    "because of": "owing to",
    "for example": "for instance",
    "such as": "like",
    "frequently": "often",
    "although": "though",
    "enormous": "huge",
    "rapidly": "quickly",
    "assist": "help",
}
_SYNONYM = re.compile(
    r"\b(?:"
    + "|".join(f"[{phrase[0].upper()}{phrase[0]}]{re.escape(phrase[1:])}" for phrase in sorted(_SYNONYMS, key=len, reverse=True))
    + r")(?!\w)"
)


@dataclass(frozen=True)
class Paragraph:
    """A prose paragraph (or a window of sentences of a long one) from one document."""

    document: str
    text: str


@dataclass(frozen=True)
class CorruptionPair:
    """A source paragraph with a faithful rewrite and the same rewrite after one factual change."""

    document: str
    source: str
    faithful: str
    corrupted: str
    corruption: CorruptionType
    change: str
    """Description of the change for readers of the results, such as "330 -> 495"."""


class Change(NamedTuple):
    text: str
    description: str


def split_sentences(text: str) -> list[str]:
    """Split prose at sentence ends, not after common abbreviations ("Dr.", "U.S.") or initials ("F.")."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        last_word = _LAST_WORD.search(text[start : match.start()])
        if text[match.start()] == "." and last_word:
            word = last_word.group(1).lstrip("\"'(\u201c\u2018")
            if word.lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]", word):
                continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def load_paragraphs(directory: Path) -> list[Paragraph]:
    """Read every file under `directory` and keep its prose paragraphs of 200 to 1,200 characters.

    A block between blank lines is prose when no line starts like markup
    (heading, list, table, directive, code) and it contains no markup
    characters. Its lines are joined into one, and a longer block is cut into
    windows of whole sentences. Files that are not UTF-8 are skipped.
    """
    paragraphs: list[Paragraph] = []
    for path in sorted(file for file in directory.rglob("*") if file.is_file()):
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        document = str(path.relative_to(directory))
        for block in re.split(r"\n\s*\n", content):
            text = _prose(block)
            if text is None:
                continue
            for window in _windows(split_sentences(text), MAX_PARAGRAPH_CHARS):
                if _usable(window):
                    paragraphs.append(Paragraph(document, window))
    return paragraphs


def _prose(block: str) -> str | None:
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    if not lines or any(_MARKUP_LINE.match(line) for line in lines):
        return None
    text = re.sub(r"\s+", " ", " ".join(lines))
    if _MARKUP.search(text):
        return None
    ascii_share = sum(character.isascii() for character in text) / len(text)
    letter_share = sum(character.isalpha() or character.isspace() for character in text) / len(text)
    if ascii_share < 0.97 or letter_share < 0.8:
        return None
    return text


def _windows(sentences: list[str], max_chars: int) -> Iterator[str]:
    window: list[str] = []
    for sentence in sentences:
        if window and len(" ".join([*window, sentence])) > max_chars:
            yield " ".join(window)
            window = []
        window.append(sentence)
    if window:
        yield " ".join(window)


def _usable(text: str) -> bool:
    return (
        MIN_PARAGRAPH_CHARS <= len(text) <= MAX_PARAGRAPH_CHARS
        and bool(_TERMINAL.search(text))
        and len(split_sentences(text)) >= 2
    )


def rewrite_faithfully(text: str, rng: Random) -> str | None:
    """Return a rewrite of `text` that keeps every fact, or None when no rewriting rule applies."""
    rewritten = _LONG_NUMBER.sub(_shorten_number, text)
    rewritten = _UNIT_WORD.sub(lambda match: _unit_symbol(match.group(1)), rewritten)
    rewritten = _SYNONYM.sub(_synonym, rewritten)
    rewritten = _swap_adjacent_sentences(rewritten, rng)
    return rewritten if rewritten != text else None


def _shorten_number(match: re.Match[str]) -> str:
    value = Decimal(match.group(1).replace(",", ""))
    for scale, word in ((Decimal(10) ** 9, "billion"), (Decimal(10) ** 6, "million")):
        if value < scale:
            continue
        short = value / scale
        # Only exact values with at most one decimal: "7,500,000" becomes "7.5 million", "7,520,000" stays.
        if short == short.quantize(Decimal("0.1")):
            return f"{short.normalize():f} {word}"
        return match.group(0)
    return match.group(0)


def _unit_symbol(unit: str) -> str:
    symbol = _UNIT_SYMBOLS[unit]
    return symbol if symbol == "%" else f" {symbol}"


def _synonym(match: re.Match[str]) -> str:
    phrase = match.group(0)
    replacement = _SYNONYMS[phrase.lower()]
    return replacement[0].upper() + replacement[1:] if phrase[0].isupper() else replacement


def _swap_adjacent_sentences(text: str, rng: Random) -> str:
    sentences = split_sentences(text)
    candidates = [
        index
        for index in range(len(sentences) - 1)
        if _stands_alone(sentences[index]) and _stands_alone(sentences[index + 1])
    ]
    if not candidates:
        return text
    index = rng.choice(candidates)
    sentences[index], sentences[index + 1] = sentences[index + 1], sentences[index]
    return " ".join(sentences)


def _stands_alone(sentence: str) -> bool:
    # NOTE: this catches openings like "Then" or "It", not every sentence whose meaning depends on its
    # neighbour. In a narrative, a swap can still change the implied order of events.
    first = re.match(r"[\"'\u201c\u2018(]*([A-Za-z]+)", sentence)
    return (
        first is not None
        and first.group(1) not in _DEPENDENT_STARTS
        and not _DEPENDENT_WORDS.search(sentence)
        and bool(_TERMINAL.search(sentence))
    )


def find_names(text: str) -> list[str]:
    """Return the runs of capitalised words that are not at a sentence start, in order, each once."""
    names: list[str] = []
    for match in _NAME.finditer(text):
        before = text[: match.start()].rstrip().rstrip(")]\"'\u201d\u2019")
        if not before or before[-1] in _OPENS_SENTENCE:
            continue
        if any(word in _NOT_NAMES for word in match.group().split()):
            continue
        # Part of a longer name joined by "of" ("Chief of Public Information"): replacing a part leaves a hybrid.
        if re.match(r" of [A-Z]", text[match.end() :]) or re.search(r"[A-Z]\w* of $", text[: match.start()]):
            continue
        if match.group() not in names:
            names.append(match.group())
    return names


def _is_claim_sentence(sentence: str) -> bool:
    """Tell whether a sentence can be added elsewhere as a new fact: it needs no neighbour and has a number or a name."""
    words = sentence.split()
    return (
        8 <= len(words) <= 35
        and sentence.endswith(".")
        and sentence[0].isupper()
        and _stands_alone(sentence)
        and (any(character.isdigit() for character in sentence) or bool(find_names(sentence)))
    )


@dataclass
class Donors:
    """Sentences and names from the whole corpus that corruptions borrow from other documents."""

    sentences: list[tuple[str, str]]
    """(document, sentence) pairs that state a standalone fact."""
    names: list[tuple[str, str]]
    """(document, name) pairs."""

    @classmethod
    def collect(cls, paragraphs: list[Paragraph]) -> "Donors":
        sentences: list[tuple[str, str]] = []
        names: dict[tuple[str, str], None] = {}
        for paragraph in paragraphs:
            sentences += [(paragraph.document, s) for s in split_sentences(paragraph.text) if _is_claim_sentence(s)]
            names.update(((paragraph.document, name), None) for name in find_names(paragraph.text) if len(name) >= 3)
        return cls(sentences, list(names))

    def sentence(self, rng: Random, document: str) -> str | None:
        candidates = [sentence for source, sentence in self.sentences if source != document]
        return rng.choice(candidates) if candidates else None

    def name(self, rng: Random, document: str, word_count: int, text: str) -> str | None:
        """Pick a name from another document with `word_count` words, none of which occurs in `text` in any case."""
        candidates = [
            name
            for source, name in self.names
            if source != document
            and len(name.split()) == word_count
            and not any(re.search(rf"\b{re.escape(word)}\b", text, re.I) for word in name.split())
        ]
        return rng.choice(candidates) if candidates else None


class Corrupter:
    """Make one factual change of a chosen type to a text, or report that the type does not apply."""

    def __init__(self, rng: Random, donors: Donors) -> None:
        self.rng = rng
        self.donors = donors

    def apply(self, corruption: CorruptionType, text: str, document: str) -> Change | None:
        if corruption == "number":
            return self.change_number(text)
        if corruption == "date":
            return self.change_date(text)
        if corruption == "entity":
            return self.swap_entity(text, document)
        if corruption == "dropped_sentence":
            return self.drop_sentence(text)
        if corruption == "added_claim":
            return self.add_claim(text, document)
        return self.negate(text)

    def change_number(self, text: str) -> Change | None:
        """Change one number that is no year and no day of a date, in digits or as a word from two to twelve."""
        spans: list[tuple[int, int, str]] = []
        for match in _NUMBER.finditer(text):
            digits, fraction = match.group(1), match.group(2) or ""
            if _is_year(digits, fraction) or _is_day(text, match.start(), match.end()):
                continue
            replacement = _changed_number(digits, fraction, self.rng)
            if not re.search(rf"(?<![\d,.]){re.escape(replacement)}(?!\d|[,.]\d)", text):
                spans.append((match.start(), match.end(), replacement))
        for match in _NUMBER_WORD.finditer(text):
            word = match.group(0)
            choices = [other for other in _NUMBER_WORDS if not re.search(rf"\b{other}\b", text, re.I)]
            if not choices:
                continue
            replacement = self.rng.choice(choices)
            spans.append((match.start(), match.end(), replacement.capitalize() if word[0].isupper() else replacement))
        return self._replace_one(text, spans)

    def change_date(self, text: str) -> Change | None:
        """Move one year (by up to 11 years), one decade or the month of one date."""
        spans: list[tuple[int, int, str]] = []
        for match in _YEAR.finditer(text):
            if _reads_as_year(text, match.start(), match.end()):
                spans.append((match.start(), match.end(), self._other_year(int(match.group(1)), text)))
        for match in _DECADE.finditer(text):
            decade = int(match.group(1)) + self.rng.choice((-20, -10, 10, 20))
            spans.append((match.start(), match.end(), f"{decade}s"))
        for match in _MONTH_IN_DATE.finditer(text):
            month = match.group(1) or match.group(2)
            others = [other for other in _DATE_MONTHS if other != month and other not in text]
            spans.append((match.start(), match.end(), self.rng.choice(others)))
        return self._replace_one(text, spans)

    def swap_entity(self, text: str, document: str) -> Change | None:
        """Replace every mention of one name with a name from another document.

        Only names whose words occur nowhere else in the text, in any letter
        case, are replaced, so no shortened mention ("Armstrong" for "Neil
        Armstrong") or common-noun use ("the abacus") is left behind.
        """
        candidates = []
        for name in find_names(text):
            mentions = len(re.findall(rf"\b{re.escape(name)}\b", text))
            if all(len(re.findall(rf"\b{re.escape(word)}\b", text, re.I)) == mentions for word in name.split()):
                candidates.append(name)
        self.rng.shuffle(candidates)
        for name in candidates:
            replacement = self.donors.name(self.rng, document, len(name.split()), text)
            if replacement is not None:
                swapped = re.sub(rf"\b{re.escape(name)}\b", lambda _: replacement, text)
                return Change(swapped, f"{name} -> {replacement}")
        return None

    def drop_sentence(self, text: str) -> Change | None:
        """Drop one sentence of six or more words, never the first, from a text of three or more sentences."""
        sentences = split_sentences(text)
        if len(sentences) < 3:
            return None
        candidates = [index for index in range(1, len(sentences)) if len(sentences[index].split()) >= 6]
        if not candidates:
            return None
        index = self.rng.choice(candidates)
        dropped = sentences.pop(index)
        return Change(" ".join(sentences), f"dropped: {_clip(dropped)}")

    def add_claim(self, text: str, document: str) -> Change | None:
        """Insert, after the first sentence, a sentence with a number or a name from another document."""
        claim = self.donors.sentence(self.rng, document)
        if claim is None:
            return None
        sentences = split_sentences(text)
        sentences.insert(self.rng.randint(1, len(sentences)), claim)
        return Change(" ".join(sentences), f"added: {_clip(claim)}")

    def negate(self, text: str) -> Change | None:
        """Remove one negation ("was not" to "was", "isn't" to "is") or add one ("can" to "cannot")."""
        spans: list[tuple[int, int, str]] = []
        for match in _NEGATED.finditer(text):
            spans.append((match.start(), match.end(), match.group(1)))
        for match in _CONTRACTED.finditer(text):
            verb = match.group(1)
            spans.append((match.start(), match.end(), _UNCONTRACTED.get(verb, verb) if verb else "can"))
        for match in _AFFIRMATIVE.finditer(text):
            verb = match.group(1)
            spans.append((match.start(), match.end(), "cannot" if verb == "can" else f"{verb} not"))
        return self._replace_one(text, spans)

    def _replace_one(self, text: str, spans: list[tuple[int, int, str]]) -> Change | None:
        if not spans:
            return None
        start, end, replacement = self.rng.choice(spans)
        return Change(text[:start] + replacement + text[end:], f"{text[start:end]} -> {replacement}")

    def _other_year(self, year: int, text: str) -> str:
        offsets = [offset for offset in range(-11, 12) if offset and str(year + offset) not in text]
        offsets = [offset for offset in offsets if year + offset <= max(year, 2025)] or offsets
        return str(year + self.rng.choice(offsets))


def _is_year(digits: str, fraction: str) -> bool:
    return not fraction and len(digits) == 4 and 1000 <= int(digits) <= 2099


def _is_day(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 12) : start]
    after = text[end : end + 12]
    return any(before.endswith(f"{month} ") or after.startswith(f" {month}") for month in _MONTHS)


def _reads_as_year(text: str, start: int, end: int) -> bool:
    previous = re.search(r"([\w.]+)\W*$", text[:start])
    after = text[end : end + 1]
    return (previous is not None and previous.group(1).lower() in _YEAR_CONTEXT) or after in (".", ",", ";", ")")


def _changed_number(digits: str, fraction: str, rng: Random) -> str:
    """Return a different value in the same format: grouped digits stay grouped, decimals keep their places."""
    value = Decimal(digits.replace(",", "") + fraction)
    places = len(fraction) - 1 if fraction else 0
    if value < 10 and not fraction:
        new = Decimal(rng.choice([number for number in range(2, 10) if number != value]))
    else:
        factor = Decimal(rng.choice(("0.5", "0.75", "1.5", "2", "3")))
        step = Decimal(1).scaleb(-places)
        new = (value * factor).quantize(step, rounding=ROUND_HALF_UP)
        if new == value or new == 0:
            new = value + step
    return f"{new:,.{places}f}" if "," in digits else f"{new:.{places}f}"


def _clip(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _interleave_by_document(paragraphs: list[Paragraph], rng: Random) -> Iterator[Paragraph]:
    """Yield paragraphs one document at a time, in turn, so a small sample still spans many documents."""
    by_document: dict[str, list[Paragraph]] = {}
    for paragraph in paragraphs:
        by_document.setdefault(paragraph.document, []).append(paragraph)
    queues = list(by_document.values())
    for queue in queues:
        rng.shuffle(queue)
    while queues:
        for queue in queues:
            yield queue.pop()
        queues = [queue for queue in queues if queue]


def make_corruptions(directory: Path, count: int, seed: int) -> list[CorruptionPair]:
    """Build up to `count` pairs from the prose of `directory`, reproducibly for a seed.

    Each paragraph gives at most one pair. Its corruption is the least used
    type so far that applies to it, so the types stay balanced until the
    paragraphs with numbers, dates or names run out. Fewer than `count` pairs
    come back when the corpus has too few usable paragraphs.
    """
    rng = Random(seed)
    paragraphs = load_paragraphs(directory)
    corrupter = Corrupter(rng, Donors.collect(paragraphs))
    used: Counter[str] = Counter()
    pairs: list[CorruptionPair] = []
    for paragraph in _interleave_by_document(paragraphs, rng):
        if len(pairs) >= count:
            break
        faithful = rewrite_faithfully(paragraph.text, rng)
        if faithful is None:
            continue
        for corruption in sorted(CORRUPTION_TYPES, key=lambda kind: (used[kind], CORRUPTION_TYPES.index(kind))):
            change = corrupter.apply(corruption, faithful, paragraph.document)
            if change is not None:
                pairs.append(
                    CorruptionPair(paragraph.document, paragraph.text, faithful, change.text, corruption, change.description)
                )
                used[corruption] += 1
                break
    return pairs
