"""Number guard: find the quantities, dates and times of a text and compare two texts.

What counts as a quantity (the items `check_numbers` reports):

- every number written in digits, with its unit, scale word or currency:
  "7,000,000", "1.5 billion", "$3m", "330-metre", "50%", "1st", "1960s";
- dates in the forms "20 July 1969", "July 20, 1969", "1969-07-20", "July 1969",
  "20 July", "20/07/1969", and clock times "20:18" or "8:18 pm";
- version-like numbers with two or more dots ("3.11.7"), kept as strings;
- number words with a scale word ("seven million", "a hundred", "a dozen"), with
  a unit ("three kilometres", "fifty per cent"), or alone from two to ninety-nine
  ("twenty-one", "seven").

The words "one" and "a"/"an", ordinal words ("third") and count words ("twice",
"both") are too often articles or idioms to report. They are only evidence: a
digit in one text is present when the other text has the same value in one of
these forms. The parts of a date are evidence too, so "1969" is present when
the other text writes "20 July 1969". A date itself is present only when the
other text has the same day, month and year.

Two quantities match when their values are equal and their units are equal,
compatible ("pounds" and "lb"), or missing on one side ("330" and "330 m").
There is no unit conversion: "1.5 km" does not match "1500 m", and 0.5 does not
match 50%. A few readings are ambiguous and match either way: "7m" is 7 metres
or 7 million, "1,500" and "98.772" may use either separator, and "the 80's"
may be the 1980s or the 2080s.

The check compares sets of values, so a changed number goes unnoticed when
its new value also occurs elsewhere in the source.

Skipped entirely: digits glued to Latin letters ("CO2", "MP3", "3D"), footnote
markers ("[12]") and list numbers at the start of a line ("1. ").

Whether a comma is the decimal separator is decided per text (see
`uses_decimal_comma`). A rewrite without evidence either way follows its source.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from polyphrase.fidelity.lexicon import (
    CJK_CHARACTERS,
    COMPATIBLE_UNITS,
    COUNT_WORDS,
    CURRENCY_PREFIXES,
    MONTH_ABBREVIATIONS,
    MONTHS,
    ORDINAL_WORDS,
    SCALE_ABBREVIATIONS,
    SCALE_WORDS,
    SMALL_NUMBER_WORDS,
    TENS_WORDS,
    UNIT_PATTERN,
    VULGAR_FRACTIONS,
    alternation,
    normalise_unit,
)
from polyphrase.fidelity.number_words import ordinal_word_value, parse_number_words


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number, date or time as found in a text.

    `value` is a Decimal for numbers. Dates are ISO-like strings ("1969-07-20",
    "1969-07", "--07-20", or "5/6/1969" when day and month are ambiguous),
    times are "HH:MM" or "HH:MM:SS", and versions keep their digits ("3.11.7").
    `unit` is a normalised unit ("km", "%", "usd", "year", "ordinal",
    "decade"), "date", "time" or "version", and '' for a bare number.
    """

    value: Decimal | str
    unit: str
    surface: str


@dataclass(frozen=True, slots=True)
class NumberCheck:
    """Quantities that differ between a source and its rewrite, as written."""

    missing: list[str]
    added: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.added


_MILLION = Decimal(10) ** 6

# A number glued to a letter or digit ("CO2", "MP3", "3D") is no quantity, but
# CJK text puts digits right next to its characters ("第2版", "1つ").
_GLUED = rf"(?:(?![{CJK_CHARACTERS}])[^\W_])"
_NOT_AFTER_WORD = rf"(?<!{_GLUED})"
_NOT_BEFORE_WORD = rf"(?!{_GLUED})"

# Digits run into a lower-case word by a typo or a dropped space ("to1948"):
# not reported as a quantity, but they show that the number is there.
_GLUED_DIGITS = re.compile(r"(?<=[a-z]{2})\d+(?![\d\w])")

# Spaces that may group thousands: space, no-break, thin and narrow no-break.
_GROUP_SPACE = "[ \u00a0\u2009\u202f]"

_COMMA_DECIMAL_EVIDENCE = re.compile(r"(?<![\d,.])\d+,\d{1,2}(?![\d,])|\d{1,3}(?:\.\d{3})+,\d")
_POINT_DECIMAL_EVIDENCE = re.compile(
    r"\d{1,3}(?:,\d{3})+\.\d|(?<![\d,.])\d{1,3}(?:,\d{3})+(?![\d,.])"
)

_IGNORED = re.compile(r"\[\d+(?:[,–-]\d+)*\]|(?m:^[ \t]*\d{1,3}[.)](?=[ \t]))")

# Full month names match in any case ("june 24"), except "May" and "March", which
# are also verbs in lower case. Abbreviations must be capitalised.
_MONTH = (
    rf"(?:(?i:{alternation(name for name in MONTHS if name not in ('March', 'May'))})"
    rf"|March|May|(?:{alternation(MONTH_ABBREVIATIONS)})\.?)"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_ORDINAL_SUFFIX = r"(?:st|nd|rd|th)"

_DATES = (
    r"(?<![\w.-])(?P<iso_y>\d{4})-(?P<iso_m>0[1-9]|1[0-2])-(?P<iso_d>0[1-9]|[12]\d|3[01])(?![\w-])",
    rf"(?<![.]){_NOT_AFTER_WORD}(?P<dmy_d>{_DAY}){_ORDINAL_SUFFIX}?(?: of)? (?P<dmy_m>{_MONTH})"
    r"(?:(?: ?,)? (?P<dmy_y>\d{4}))?(?![\w])",
    rf"(?<!\w)(?P<mdy_m>{_MONTH}) (?P<mdy_d>{_DAY}){_ORDINAL_SUFFIX}?(?!\d)"
    r"(?:(?: ?,)? (?P<mdy_y>\d{4}))?(?![\w])",
    rf"(?<!\w)(?P<my_m>{_MONTH})(?: ?,| of)? (?P<my_y>\d{{4}})(?!\d)",
    r"(?<![\w./])(?P<sl_a>\d{1,2})/(?P<sl_b>\d{1,2})/(?P<sl_y>\d{4}|\d{2})(?![\w/])",
)

_TIMES = (
    rf"(?<![.:]){_NOT_AFTER_WORD}(?P<hm_h>[01]?\d|2[0-3]):(?P<hm_m>[0-5]\d)(?::(?P<hm_s>[0-5]\d))?"
    r"(?:\s?(?P<hm_ap>[ap]\.m\.|[ap]m\b|[AP]M\b))?(?![\d:])",
    rf"(?<![.:]){_NOT_AFTER_WORD}(?P<ap_h>1[0-2]|0?[1-9])\s?(?P<ap>[ap]\.m\.|[ap]m\b|[AP]M\b)",
)

_VERSION = (
    rf"(?<![.]){_NOT_AFTER_WORD}(?!\d{{1,3}}(?:\.\d{{3}}){{2,}}(?![.\d]))"
    r"(?P<version>\d+(?:\.\d+){2,})(?![\w.]?\d)"
)

# Digits grouped in thousands by dots, commas or spaces, then an optional decimal part.
_CORE_POINT = (
    r"\d{1,3}(?:\.\d{3}){2,}(?![.\d])"
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?"
    rf"|\d{{1,3}}(?:{_GROUP_SPACE}\d{{3}}(?!\d))+(?:\.\d+)?"
    r"|\d+(?:\.\d+)?"
)
_CORE_COMMA = (
    r"\d{1,3}(?:\.\d{3})+(?![.\d])(?:,\d+)?"
    rf"|\d{{1,3}}(?:{_GROUP_SPACE}\d{{3}}(?!\d))+(?:,\d+)?"
    r"|\d+(?:[.,]\d+)?"
)

_CURRENCY = alternation(CURRENCY_PREFIXES)
_SCALE = alternation(SCALE_WORDS)
# The parts that may follow the digits: an ordinal suffix ("1st"), a decade "s"
# ("1960s") or a scale ("7k", "7bn", "7 million"), then a unit ("330-metre", "50%").
_NUMBER_SUFFIX = (
    rf"(?:(?P<ord>{_ORDINAL_SUFFIX})"
    r"|(?P<decade>'?s)"
    rf"|(?P<abbr>k|[ ]?(?:bn|mln|mn)|(?(cur)b|(?!))){_NOT_BEFORE_WORD}"
    rf"|[ \u00a0](?P<scale>(?i:{_SCALE})))?"
    rf"(?:(?:-|{_GROUP_SPACE}{{1,2}})?(?P<unit>{UNIT_PATTERN}))?"
    rf"{_NOT_BEFORE_WORD}"
)

_NUMBER_WORD = alternation([*SMALL_NUMBER_WORDS, *TENS_WORDS, *SCALE_WORDS, "dozen"])
_WORDS = (
    rf"(?<![\w-])(?P<words>(?i:(?:an?[ ](?=(?:{_SCALE}|dozen)\b))?(?:{_NUMBER_WORD})"
    rf"(?:(?:[ -]|[ ]and[ ])(?:{_NUMBER_WORD}))*)\b)"
    rf"(?:(?:-|{_GROUP_SPACE}{{1,2}})?(?P<word_unit>{UNIT_PATTERN})(?![^\W_]))?"
)
_ORDINAL_WORD = (
    rf"(?<![\w-])(?P<ordinal>(?i:(?:(?:{alternation(TENS_WORDS)})[ -])?(?:{alternation(ORDINAL_WORDS)})))"
    r"(?![\w-])"
)
_ARTICLE_UNIT = rf"(?<![\w-])(?P<article>(?i:an?)) (?P<article_unit>{UNIT_PATTERN})(?![^\W_])"
_FRACTION = rf"(?<![.]){_NOT_AFTER_WORD}(?P<fraction>[{''.join(VULGAR_FRACTIONS)}]){_NOT_BEFORE_WORD}"
_COUNT_WORD = rf"(?<![\w-])(?P<count>(?i:{alternation(COUNT_WORDS)}))(?![\w-])"


def _build_scanner(core: str) -> re.Pattern[str]:
    number = (
        rf"(?<![.]){_NOT_AFTER_WORD}(?<!\d,)(?P<number>(?:(?P<cur>{_CURRENCY})[ \u00a0]?)?"
        rf"(?P<sign>(?<![^\s(])[-\u2212](?=\d))?(?P<core>{core})(?!\d)"
        rf"(?P<frac>[{''.join(VULGAR_FRACTIONS)}])?{_NUMBER_SUFFIX})"
    )
    alternatives = [*_DATES, *_TIMES, _VERSION, number, _FRACTION, _ORDINAL_WORD, _WORDS, _ARTICLE_UNIT, _COUNT_WORD]
    return re.compile("|".join(f"(?:{alternative})" for alternative in alternatives))


_POINT_SCANNER = _build_scanner(_CORE_POINT)
_COMMA_SCANNER = _build_scanner(_CORE_COMMA)
_DOT_GROUPS = re.compile(r"\d{1,3}(?:\.\d{3})+")
_AMBIGUOUS_GROUP = re.compile(r"(?<![\d.,])\d{1,3}[.,]\d{3}(?![\d.,])")
_NOT_NUMBERS = frozenset({"date", "time", "version"})


def uses_decimal_comma(text: str) -> bool | None:
    """Tell whether `text` writes decimals with a comma ("1,5"), or None without evidence.

    Comma evidence is "1,5" or "1,25" (one or two digits after the comma) and
    "1.234,5". Point evidence is "1,500", "7,000,000" and "1,234.5". The side
    with more occurrences wins, and a tie with some evidence means a point.
    """
    comma = len(_COMMA_DECIMAL_EVIDENCE.findall(text))
    point = len(_POINT_DECIMAL_EVIDENCE.findall(text))
    if comma == 0 and point == 0:
        return None
    return comma > point


def extract_quantities(text: str, *, decimal_comma: bool | None = None) -> list[Quantity]:
    """Find the quantities of `text` that `check_numbers` reports, in text order.

    `decimal_comma` forces the decimal separator. None decides it from the text.
    """
    if decimal_comma is None:
        decimal_comma = bool(uses_decimal_comma(text))
    reported, _ = _scan(text, decimal_comma)
    return list(reported)


def check_numbers(source: str, rewrite: str) -> NumberCheck:
    """Compare the quantities of a rewrite with those of its source.

    `missing` lists source quantities that the rewrite never states in any form
    the module docstring allows, and `added` lists rewrite quantities that the
    source never states. Each value appears once, with its first surface.
    """
    source_comma = bool(uses_decimal_comma(source))
    rewrite_comma = uses_decimal_comma(rewrite)
    if rewrite_comma is None:
        rewrite_comma = source_comma

    source_reported, source_evidence = _scan(source, source_comma)
    rewrite_reported, rewrite_evidence = _scan(rewrite, rewrite_comma)
    source_pool = _Pool([*source_reported, *source_evidence])
    rewrite_pool = _Pool([*rewrite_reported, *rewrite_evidence])

    missing = [q.surface for q in _unique(source_reported) if not rewrite_pool.contains(q)]
    added = [q.surface for q in _unique(rewrite_reported) if not source_pool.contains(q)]
    return NumberCheck(missing=missing, added=added)


# A source chunk is compared with every style and attempt, so its scan is kept for reuse.
@functools.lru_cache(maxsize=256)
def _scan(text: str, decimal_comma: bool) -> tuple[tuple[Quantity, ...], tuple[Quantity, ...]]:
    """Return the reported quantities and the evidence-only ones (see the module docstring)."""
    masked = _IGNORED.sub(lambda match: " " * len(match.group()), text)
    scanner = _COMMA_SCANNER if decimal_comma else _POINT_SCANNER
    reported: list[Quantity] = []
    evidence: list[Quantity] = []

    for match in scanner.finditer(masked):
        surface = text[match.start() : match.end()]
        if match.group("words") is not None:
            for quantity, is_reported in _read_number_words(match, text):
                (reported if is_reported else evidence).append(quantity)
        elif match.group("ordinal") is not None:
            evidence.append(Quantity(Decimal(ordinal_word_value(match.group("ordinal"))), "ordinal", surface))
        elif match.group("article") is not None:
            evidence.append(Quantity(Decimal(1), normalise_unit(match.group("article_unit")), surface))
        elif match.group("count") is not None:
            evidence.append(Quantity(Decimal(COUNT_WORDS[match.group("count").lower()]), "", surface))
        else:
            reported.append(_read_match(match, surface, decimal_comma))
    evidence += (Quantity(Decimal(match.group()), "", match.group()) for match in _GLUED_DIGITS.finditer(masked))
    return tuple(reported), tuple(evidence)


def _read_match(match: re.Match[str], surface: str, decimal_comma: bool) -> Quantity:
    """Build the quantity for a date, time, version, fraction or digit match."""
    groups = match.groupdict()
    if groups["iso_y"]:
        return Quantity(f"{groups['iso_y']}-{groups['iso_m']}-{groups['iso_d']}", "date", surface)
    if groups["dmy_d"]:
        return Quantity(_iso_date(groups["dmy_y"], groups["dmy_m"], groups["dmy_d"]), "date", surface)
    if groups["mdy_d"]:
        return Quantity(_iso_date(groups["mdy_y"], groups["mdy_m"], groups["mdy_d"]), "date", surface)
    if groups["my_y"]:
        return Quantity(_iso_date(groups["my_y"], groups["my_m"], None), "date", surface)
    if groups["sl_y"]:
        return Quantity(_slash_date(groups["sl_a"], groups["sl_b"], groups["sl_y"]), "date", surface)
    if groups["hm_h"]:
        time = _clock_time(groups["hm_h"], groups["hm_m"], groups["hm_ap"])
        if groups["hm_s"] and groups["hm_s"] != "00":
            time += f":{groups['hm_s']}"
        return Quantity(time, "time", surface)
    if groups["ap_h"]:
        return Quantity(_clock_time(groups["ap_h"], "00", groups["ap"]), "time", surface)
    if groups["version"]:
        return Quantity(groups["version"], "version", surface)
    if groups["fraction"]:
        return Quantity(VULGAR_FRACTIONS[groups["fraction"]], "", surface)
    return _read_digits(groups, surface, decimal_comma)


def _read_digits(groups: dict[str, str | None], surface: str, decimal_comma: bool) -> Quantity:
    value = _parse_core(groups["core"] or "", decimal_comma)
    if groups["frac"]:
        value += VULGAR_FRACTIONS[groups["frac"]]
    if groups["sign"]:
        value = -value

    unit = normalise_unit(groups["unit"]) if groups["unit"] else ""
    if groups["scale"]:
        value *= SCALE_WORDS[groups["scale"].lower()]
    elif groups["abbr"]:
        value *= SCALE_ABBREVIATIONS[groups["abbr"].strip()]
    elif groups["cur"] and unit == "m":
        # After a currency sign, "m" is million: "$3m".
        value *= _MILLION
        unit = ""
    elif groups["ord"]:
        unit = "ordinal"
    elif groups["decade"] and value % 10 == 0:
        unit = "decade"

    if groups["cur"]:
        unit = CURRENCY_PREFIXES[groups["cur"].strip()]
    return Quantity(value, unit, surface)


def _parse_core(core: str, decimal_comma: bool) -> Decimal:
    """Read digits with their group and decimal separators as the text's locale writes them."""
    digits = re.sub(_GROUP_SPACE, "", core)
    if decimal_comma:
        if "," in digits:
            digits = digits.replace(".", "").replace(",", ".")
        elif _DOT_GROUPS.fullmatch(digits):
            digits = digits.replace(".", "")
    elif digits.count(".") > 1:
        digits = digits.replace(".", "")
    else:
        digits = digits.replace(",", "")
    return Decimal(digits)


def _iso_date(year: str | None, month_name: str, day: str | None) -> str:
    name = month_name.rstrip(".")
    month = MONTH_ABBREVIATIONS[name] if name in MONTH_ABBREVIATIONS else MONTHS[name.capitalize()]
    if day is None:
        return f"{year}-{month:02d}"
    return f"{year or '-'}-{month:02d}-{int(day):02d}"


def _slash_date(first: str, second: str, year: str) -> str:
    """Normalise "20/07/1969" and "07/20/1969" to ISO, but keep "5/6/1969" as written, because it reads both ways."""
    a, b = int(first), int(second)
    if a > 12 >= b:
        return f"{year}-{b:02d}-{a:02d}"
    if b > 12 >= a:
        return f"{year}-{a:02d}-{b:02d}"
    return f"{a}/{b}/{year}"


def _clock_time(hour: str, minute: str, am_pm: str | None) -> str:
    hours = int(hour)
    if am_pm:
        is_pm = am_pm[0] in "pP"
        hours = hours % 12 + (12 if is_pm else 0)
    return f"{hours:02d}:{minute}"


def _read_number_words(match: re.Match[str], text: str) -> Iterator[tuple[Quantity, bool]]:
    """Read a run of number words as numbers, each with whether to report it.

    A number is reported when it has a scale word, when a unit follows and it
    is at least two, or when it is between two and ninety-nine.
    """
    numbers = parse_number_words(match.group("words"), match.start("words"))
    unit = normalise_unit(match.group("word_unit")) if match.group("word_unit") else ""

    for index, number in enumerate(numbers):
        is_last = index == len(numbers) - 1
        number_unit = unit if is_last else ""
        surface = text[number.start : match.end()] if is_last else text[number.start : number.end]
        is_reported = number.has_scale or (number_unit != "" and number.value >= 2) or 2 <= number.value <= 99
        yield Quantity(Decimal(number.value), number_unit, surface), is_reported


class _Pool:
    """Every (value, unit) reading of one text's quantities, for lookups."""

    def __init__(self, quantities: Iterable[Quantity]) -> None:
        self._units: dict[Decimal | str, set[str]] = defaultdict(set)
        for quantity in quantities:
            for value, unit in _pool_readings(quantity):
                self._units[value].add(unit)

    def contains(self, quantity: Quantity) -> bool:
        return any(self._has(value, unit) for value, unit in _readings(quantity))

    def _has(self, value: Decimal | str, unit: str) -> bool:
        units = self._units.get(value)
        if not units:
            return False
        if unit == "" or "" in units or unit in units:
            return True
        return any(frozenset({unit, other}) in COMPATIBLE_UNITS for other in units)


def _readings(quantity: Quantity) -> Iterator[tuple[Decimal | str, str]]:
    """Yield the (value, unit) pairs that a quantity may mean, its own reading first."""
    value, unit = quantity.value, quantity.unit
    yield value, unit
    if not isinstance(value, Decimal) or unit in _NOT_NUMBERS:
        return
    if unit == "m":
        yield value * _MILLION, ""
    if unit == "decade" and value < 100:
        yield value + 1900, unit
        yield value + 2000, unit
    if _AMBIGUOUS_GROUP.search(quantity.surface):
        # "1,500" or "98.772" may use either separator, whatever the text's locale.
        yield value * 1000, unit
        yield value / 1000, unit


def _pool_readings(quantity: Quantity) -> Iterator[tuple[Decimal | str, str]]:
    """Yield the readings of a quantity plus its parts: a date's year, month and day, a time's minute."""
    yield from _readings(quantity)
    if quantity.unit == "time" and isinstance(quantity.value, str):
        yield quantity.value[:5], "time"
    if quantity.unit != "date" or not isinstance(quantity.value, str):
        return
    parts = quantity.value.split("-")
    if len(parts) == 3 and parts[0]:
        year, month, day = parts
        yield f"{year}-{month}", "date"
        yield f"--{month}-{day}", "date"
        yield Decimal(year), ""
        yield Decimal(day), ""
    elif len(parts) == 2:
        yield Decimal(parts[0]), ""
    elif len(parts) == 4:
        yield Decimal(parts[3]), ""


def _unique(quantities: Iterable[Quantity]) -> Iterator[Quantity]:
    seen: set[tuple[Decimal | str, str]] = set()
    for quantity in quantities:
        key = (quantity.value, quantity.unit)
        if key not in seen:
            seen.add(key)
            yield quantity
