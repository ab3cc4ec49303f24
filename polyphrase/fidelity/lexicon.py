"""Word lists and regex fragments for the fidelity guards: units, number words, months, scripts.

Every regex fragment here is case-sensitive unless it sits inside `(?i:...)`, so
"m" (metre) and "M" stay apart while "Kilometres" and "kilometres" do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

# Normalised unit and the surface forms that mean it. Where two entries can both
# match at one place ("degrees" and "degrees Celsius", "m" and "m/s"), the longer
# form comes first, because a regex alternation takes the first branch that fits.
UNITS: tuple[tuple[str, str], ...] = (
    ("%", r"%|(?i:per[ -]?cent|pct)"),
    ("pp", r"(?i:percentage[ -]points?)"),
    ("km2", r"km²|km2|(?i:sq\.? ?km|square[ -]kilomet(?:re|er)s?)"),
    ("m2", r"m²|(?i:square[ -]met(?:re|er)s?)"),
    ("mi2", r"(?i:sq\.? ?mi|square[ -]miles?)"),
    ("km/h", r"km/h|kph|(?i:kilomet(?:re|er)s?[ -]per[ -]hour)"),
    ("mph", r"mph|(?i:miles?[ -]per[ -]hour)"),
    ("m/s", r"m/s|(?i:met(?:re|er)s?[ -]per[ -]second)"),
    ("km", r"km|(?i:kilomet(?:re|er)s?)"),
    ("cm", r"cm|(?i:centimet(?:re|er)s?)"),
    ("mm", r"mm|(?i:millimet(?:re|er)s?)"),
    ("nm", r"nm|(?i:nanomet(?:re|er)s?)"),
    ("um", r"µm|μm|(?i:micromet(?:re|er)s?|microns?)"),
    ("m", r"m|(?i:met(?:re|er)s?)"),
    ("mi", r"mi|(?i:miles?)"),
    ("ft", r"ft|(?i:foot|feet)"),
    ("in", r"(?i:inch(?:es)?)"),
    ("yd", r"yd|(?i:yards?)"),
    ("ha", r"ha|(?i:hectares?)"),
    ("acre", r"(?i:acres?)"),
    ("ml", r"ml|mL|(?i:millilit(?:re|er)s?)"),
    ("l", r"(?i:lit(?:re|er)s?)"),
    ("kg", r"kg|(?i:kilo(?:gram(?:me)?)?s?)"),
    ("mg", r"mg|(?i:milligram(?:me)?s?)"),
    ("g", r"g|(?i:gram(?:me)?s?)"),
    ("t", r"(?i:tonnes?|metric[ ]tons?)"),
    ("ton", r"(?i:tons?)"),
    ("lb", r"lbs?"),
    ("gbp", r"GBP|(?i:pounds?[ ]sterling)"),
    ("pound", r"(?i:pounds?)"),
    ("oz", r"oz|(?i:ounces?)"),
    ("degc", r"°[ ]?C|℃|(?i:degrees?[ ](?:celsius|centigrade))"),
    ("degf", r"°[ ]?F|℉|(?i:degrees?[ ]fahrenheit)"),
    ("deg", r"°|(?i:degrees?)"),
    ("kelvin", r"(?i:kelvins?)"),
    ("kwh", r"kWh|(?i:kilowatt[ -]hours?)"),
    ("ghz", r"GHz|(?i:gigahertz)"),
    ("mhz", r"MHz|(?i:megahertz)"),
    ("khz", r"kHz|(?i:kilohertz)"),
    ("hz", r"Hz|(?i:hertz)"),
    ("gw", r"GW|(?i:gigawatts?)"),
    ("mw", r"MW|(?i:megawatts?)"),
    ("kw", r"kW|(?i:kilowatts?)"),
    ("w", r"W|(?i:watts?)"),
    ("v", r"V|(?i:volts?)"),
    ("tb", r"TB|(?i:terabytes?)"),
    ("gb", r"GB|(?i:gigabytes?)"),
    ("mb", r"MB|(?i:megabytes?)"),
    ("kb", r"KB|kB|(?i:kilobytes?)"),
    ("byte", r"(?i:bytes?)"),
    ("bit", r"(?i:bits?)"),
    ("sec", r"(?i:seconds?|secs?)"),
    ("min", r"(?i:minutes?|mins?)"),
    ("hour", r"h|hrs?|(?i:hours?)"),
    ("day", r"(?i:days?)"),
    ("week", r"(?i:weeks?)"),
    ("month", r"(?i:months?)"),
    ("year", r"yrs?|(?i:years?)"),
    ("decade", r"(?i:decades?)"),
    ("century", r"(?i:century|centuries)"),
    ("usd", r"USD|(?i:(?:US[ ])?dollars?)"),
    ("eur", r"EUR|€|(?i:euros?)"),
    ("jpy", r"JPY|(?i:yen)"),
    ("cent", r"(?i:cents?)"),
)

UNIT_PATTERN = "|".join(f"(?:{pattern})" for _, pattern in UNITS)

_UNIT_MATCHERS = tuple((unit, re.compile(pattern)) for unit, pattern in UNITS)


def normalise_unit(surface: str) -> str:
    """Map a unit as written ("kilometres", "km") to its normalised name ("km")."""
    for unit, matcher in _UNIT_MATCHERS:
        if matcher.fullmatch(surface):
            return unit
    raise ValueError(f"unknown unit {surface!r}: add it to UNITS")


# Pairs of units that may name the same quantity: "pounds" is money or weight,
# and a bare "degrees" may be Celsius or Fahrenheit.
COMPATIBLE_UNITS: frozenset[frozenset[str]] = frozenset(
    {
        frozenset({"pound", "gbp"}),
        frozenset({"pound", "lb"}),
        frozenset({"deg", "degc"}),
        frozenset({"deg", "degf"}),
        frozenset({"t", "ton"}),
    }
)

# Currency symbols and codes written before the amount.
CURRENCY_PREFIXES: dict[str, str] = {
    "US$": "usd",
    "A$": "aud",
    "C$": "cad",
    "$": "usd",
    "€": "eur",
    "£": "gbp",
    "¥": "jpy",
    "USD": "usd",
    "EUR": "eur",
    "GBP": "gbp",
    "JPY": "jpy",
}

SCALE_WORDS: dict[str, Decimal] = {
    "hundred": Decimal(100),
    "thousand": Decimal(1000),
    "million": Decimal(10) ** 6,
    "billion": Decimal(10) ** 9,
    "trillion": Decimal(10) ** 12,
}

# Abbreviated scales after digits. "m" is missing on purpose: "7m" stays a
# length, and the matcher also reads it as 7 million (see numbers.py).
SCALE_ABBREVIATIONS: dict[str, Decimal] = {
    "k": Decimal(1000),
    "b": Decimal(10) ** 9,  # numbers.py accepts it only after a currency sign: "$7b"
    "mn": Decimal(10) ** 6,
    "mln": Decimal(10) ** 6,
    "bn": Decimal(10) ** 9,
}

SMALL_NUMBER_WORDS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen"
        " fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}

TENS_WORDS: dict[str, int] = {
    word: 10 * (index + 2)
    for index, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}

ORDINAL_WORDS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh"
        " twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth"
        " nineteenth".split()
    )
} | {
    word: 10 * (index + 2)
    for index, word in enumerate(
        "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split()
    )
} | {"hundredth": 100, "thousandth": 1000, "millionth": 10**6}

# Words that stand for a count but never start a number phrase. They are read
# only as evidence that a rewrite's digit was in the source ("twice" -> "2 times").
COUNT_WORDS: dict[str, int] = {"once": 1, "single": 1, "twice": 2, "both": 2, "pair": 2, "couple": 2, "thrice": 3}

VULGAR_FRACTIONS: dict[str, Decimal] = {
    "½": Decimal("0.5"),
    "¼": Decimal("0.25"),
    "¾": Decimal("0.75"),
    "⅓": Decimal(1) / 3,
    "⅔": Decimal(2) / 3,
    "⅛": Decimal("0.125"),
}

MONTHS: dict[str, int] = {
    name: index + 1
    for index, name in enumerate(
        "January February March April May June July August September October November December".split()
    )
}

MONTH_ABBREVIATIONS: dict[str, int] = {
    "Jan": 1,
    "Feb": 2,
    "Mar": 3,
    "Apr": 4,
    "Jun": 6,
    "Jul": 7,
    "Aug": 8,
    "Sep": 9,
    "Sept": 9,
    "Oct": 10,
    "Nov": 11,
    "Dec": 12,
}


def alternation(words: Iterable[str]) -> str:
    """Join words into a regex alternation, longest first so no word hides a longer one."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


# Han, Hiragana, Katakana and Hangul, as a regex class body. Text in these scripts
# puts digits and Latin words right next to its characters ("第2版", "Debianは").
CJK_CHARACTERS = (
    "\u1100-\u11ff\u3040-\u309f\u30a0-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f"
)
