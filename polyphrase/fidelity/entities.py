"""Entity guard: find capitalised names without a model and compare two texts.

A name is a run of capitalised words ("George Washington", "Kennedy Space
Center"), which may contain "of", "de", "van" and similar particles ("Sea of
Tranquility"), initials ("John F. Kennedy") and Roman numerals ("World War
II"). An acronym of two to six capitals ("NASA", "U.S.") is a name too.
Function words, months and weekdays are never names, even when capitalised.

The first word of a sentence is capitalised anyway, so a name that starts a
sentence needs more evidence. A one-word name counts only when the text also
capitalises it in mid-sentence ("Armstrong ... with Armstrong"), and the first
word of a longer run is dropped when the text also writes it in lower case.
Lines written wholly in capitals are headings and give no names, and so are
title-case lines after a blank line (every word capitalised but "of", "the"
and the like, with at least three capitalised words of four or more letters).

The guard is a warning: it misses names written in lower case and reads some
capitalised common nouns ("Moon", "President") as names.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from polyphrase.fidelity.lexicon import MONTH_ABBREVIATIONS, MONTHS


@dataclass(frozen=True, slots=True)
class EntityCheck:
    """Names that differ between a source and its rewrite, as written in the text that has them."""

    missing: list[str]
    added: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.added


_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()

# Capitalised words that start sentences or headings but do not name anything.
_STOPWORDS = frozenset(
    """
    a about above according accordingly across additionally after afterwards against
    ago all along also although always among an and another any anyone anything are
    around as at because before behind below beneath beside besides between beyond
    both but by can chapter consequently could despite did do does during each either
    even eventually every everyone example except few figure finally first following
    for from further furthermore given had has have he hence her here hers herself him
    himself his how however i if in including indeed instead into is it its itself
    just last later like likewise many may maybe me meanwhile might moreover most
    much must my near neither never nevertheless next no none nonetheless nor not note
    now of off often on once one only onto or other others otherwise our ours out over
    overall per perhaps please second section see several shall she should similarly
    since so some sometimes soon still such table than that the their theirs them
    then there therefore these they third this those though through throughout thus
    to today together tomorrow too toward towards under unless unlike until up upon us
    usually very via was we were what whatever when whenever where whereas wherever
    whether which while who whom whose why will with within without would yes yet
    yesterday you your yours two three four five six seven eight nine ten
    """.split()
) | {name.lower() for name in [*MONTHS, *MONTH_ABBREVIATIONS, *_WEEKDAYS]}

# Lower-case particles that may sit inside a name: "Sea of Tranquility", "Leonardo da Vinci".
_NAME_PARTICLES = frozenset("of de da del der di du la le van von bin al y".split())
# Lower-case words that an acronym may skip: "National Aeronautics and Space Administration".
_ACRONYM_PARTICLES = _NAME_PARTICLES | {"and", "for", "the", "on", "in"}

_TITLES = frozenset(
    "Mr Mrs Ms Dr Sir Dame King Queen Prince Princess Lord Lady Saint St President General"
    " Captain Professor Prof Pope Senator Governor Emperor".split()
)

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof gen col lt sgt capt cmdr gov sen rep rev hon mt ft vs etc al"
    " eg ie cf no vol fig approx ca inc ltd co corp".split()
)

_TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[^\W\d_](?:[\w'’-]*[^\W_])?")
_POSSESSIVE = re.compile(r"['’]s$")
_ATTRIBUTIVE = re.compile(r"([A-Z][^\W\d_-]{2,})-[a-z]+")
_ACRONYM = re.compile(r"[A-Z]{2,6}s?|(?:[A-Z]\.){2,6}")
_ROMAN_NUMERAL = re.compile(r"[IVX]{2,5}")
_SENTENCE_BREAK = re.compile(r"[.!?:\"“”(\[|]|\n\s*\n|\n\s*(?:[#*+>|-]|\d+[.)])|^\s*[#*+>-]")
_LINE_WRAP = re.compile(r"[ \t]*\n[ \t]*")
_UPPER_LINE = re.compile(r"^[^a-z]*[A-Z]{2,}[^a-z]*[A-Z]{2,}[^a-z]*$", re.MULTILINE)
_WORD = re.compile(r"[^\W\d_]+")
# Words that title case leaves in lower case.
_TITLE_SMALL_WORDS = frozenset("a an and as at but by for from in into nor of on or the to vs with".split())


def _blank_headings(text: str) -> str:
    """Blank out lines in capitals, and title-case lines that follow a blank line ("The Deck Towards the End")."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        words = _WORD.findall(line)
        capitalised = [word for word in words if word[0].isupper() and len(word) >= 4]
        title_case = (
            (index == 0 or not lines[index - 1].strip())
            and len(line) <= 100
            and len(capitalised) >= 3
            and all(word[0].isupper() or word in _TITLE_SMALL_WORDS for word in words)
        )
        if title_case or _UPPER_LINE.fullmatch(line):
            lines[index] = " " * len(line)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _Token:
    word: str
    start: int
    end: int
    sentence_start: bool
    possessive: bool


def extract_entities(text: str) -> list[str]:
    """Find the names in `text`, each once (case-insensitively), in text order."""
    return list(_extract_entities(text))


# A source chunk is compared with every style and attempt, so its names and index are kept for reuse.
@functools.lru_cache(maxsize=256)
def _extract_entities(text: str) -> tuple[str, ...]:
    masked = _blank_headings(text)
    tokens = _tokenize(masked)
    mid_sentence_capitals = {t.word for t in tokens if not t.sentence_start and _is_capitalised(t.word)}
    lower_words = {t.word for t in tokens if t.word.islower()}

    names: dict[str, str] = {}
    for run in _name_runs(masked, tokens):
        name = _trim_sentence_start(run, mid_sentence_capitals, lower_words, text)
        if name:
            names.setdefault(name.casefold(), name)
    return tuple(names.values())


def check_entities(source: str, rewrite: str) -> EntityCheck:
    """Compare the names of a rewrite with those of its source.

    A name is kept when the other text contains it case-insensitively and
    without accents (a plural or possessive "s" aside), contains the last word
    of a multi-word name in capitals ("Armstrong" for "Neil Armstrong" or
    "President Armstrong"), or contains its acronym or expansion. A one-word
    name also matches a derived word ("Australia" and "Australian"). Acronyms
    of up to three letters must match in capitals, so "US" never matches "us".
    """
    source_index = _mention_index(source)
    rewrite_index = _MentionIndex(rewrite)
    missing = [name for name in _extract_entities(source) if not rewrite_index.mentions(name)]
    added = [name for name in _extract_entities(rewrite) if not source_index.mentions(name)]
    return EntityCheck(missing=missing, added=added)


# The names and the mention index of one text both need its tokens.
@functools.lru_cache(maxsize=256)
def _tokenize(text: str) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    previous: re.Match[str] | None = None
    for match in _TOKEN.finditer(text):
        gap = text[previous.end() if previous else 0 : match.start()]
        sentence_start = previous is None or _breaks_sentence(gap, previous.group())
        word = _POSSESSIVE.sub("", match.group())
        possessive = word != match.group()
        end = match.end()
        attributive = _ATTRIBUTIVE.fullmatch(word)
        if attributive:
            # "Chicago-based" names Chicago.
            word = attributive.group(1)
            end = match.start() + len(word)
        tokens.append(_Token(word, match.start(), end, sentence_start, possessive))
        previous = match
    return tuple(tokens)


def _breaks_sentence(gap: str, previous_word: str) -> bool:
    """Tell whether the next word may be capitalised only because it starts a sentence or clause."""
    if not _SENTENCE_BREAK.search(gap):
        return False
    if gap.strip() == "." and (len(previous_word) == 1 or previous_word.lower() in _ABBREVIATIONS):
        return False
    return True


def _is_capitalised(word: str) -> bool:
    return word[0].isupper()


def _is_initial(word: str) -> bool:
    return len(word) == 1 and word.isupper()


def _is_acronym(word: str) -> bool:
    return _ACRONYM.fullmatch(word) is not None and not _ROMAN_NUMERAL.fullmatch(word)


# Contractions of the pronoun "I" ("I'd", "I'm") are capitalised but never names.
_PRONOUN_I = re.compile(r"I['’](?:d|m|ll|ve)")


def _is_name_word(word: str) -> bool:
    if _PRONOUN_I.fullmatch(word):
        return False
    return _is_capitalised(word) and word.lower() not in _STOPWORDS and not _is_acronym(word)


def _joins(text: str, left: _Token, right: _Token) -> bool:
    """Tell whether two tokens are adjacent parts of one name: one space or one line break apart, or after an initial or "St.".

    A possessive ends a name, so "Egypt's Prime Minister" gives "Egypt" and "Prime Minister".
    A line break joins because wrapped text splits names ("Microsoft\n   Windows").
    """
    if left.possessive:
        return False
    gap = text[left.end : right.start]
    if gap in (" ", "\u00a0") or _LINE_WRAP.fullmatch(gap):
        return True
    return gap == ". " and (_is_initial(left.word) or left.word.lower() in _ABBREVIATIONS)


def _name_runs(text: str, tokens: Sequence[_Token]) -> Iterator[list[_Token]]:
    """Yield runs of name words, and each acronym as a run of its own."""
    run: list[_Token] = []
    for token in tokens:
        word = token.word
        continues = bool(run) and _joins(text, run[-1], token)
        # Single capitals and Roman numerals only continue a name: "John F. Kennedy", "World War II".
        if _is_name_word(word) and len(word) > 1 and not _ROMAN_NUMERAL.fullmatch(word):
            if not continues:
                yield from _close(run)
                run = []
            run.append(token)
        elif continues and (word in _NAME_PARTICLES or _ROMAN_NUMERAL.fullmatch(word) or _is_initial(word)):
            run.append(token)
        else:
            yield from _close(run)
            run = []
            if _is_acronym(word):
                yield [token]
    yield from _close(run)


def _close(run: list[_Token]) -> Iterator[list[_Token]]:
    while run and run[-1].word in _NAME_PARTICLES:
        run = run[:-1]
    if run:
        yield run


def _trim_sentence_start(
    run: list[_Token], mid_sentence_capitals: set[str], lower_words: set[str], text: str
) -> str:
    """Return the run as a name, without a first word that is capitalised only by its position."""
    first = run[0]
    if first.sentence_start and not _is_acronym(first.word):
        if len(run) == 1:
            if first.word not in mid_sentence_capitals:
                return ""
        elif first.word.lower() in lower_words:
            run = run[1:]
            while run and run[0].word in _NAME_PARTICLES:
                run = run[1:]
    if not run:
        return ""
    surface = " ".join(text[run[0].start : run[-1].end].split())
    return _POSSESSIVE.sub("", surface)


@functools.lru_cache(maxsize=256)
def _mention_index(text: str) -> "_MentionIndex":
    return _MentionIndex(text)


class _MentionIndex:
    """One text prepared for the kept-name lookups of `check_entities`."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._folded = _fold(text)
        self._undotted = _strip_accents(text).replace(".", "")
        tokens = _tokenize(text)
        self._capital_words = {t.word for t in tokens if _is_capitalised(t.word)}
        self._acronyms = {t.word.replace(".", "") for t in tokens if _is_acronym(t.word)}
        self._initials = list(_run_initials(tokens))

    def mentions(self, name: str) -> bool:
        end_boundary = "" if name.endswith(".") else r"(?![^\W\d_])"
        if re.search(rf"(?<![^\W\d_]){re.escape(name)}{end_boundary}", self._text):
            return True

        compact = _strip_accents(name).replace(".", "")
        if _is_acronym(name):
            stem = compact[:-1] if compact.endswith("s") else compact
            # Digits may touch an acronym ("7MB"), letters may not.
            if len(stem) <= 3:
                found = re.search(rf"(?<![^\W\d_]){re.escape(stem)}(?:s|'s|’s)?(?![^\W\d_])", self._undotted)
            else:
                found = re.search(rf"(?<![^\W\d_]){re.escape(stem.casefold())}(?:s|'s)?(?![^\W\d_])", self._folded)
            return found is not None or any(stem in initials for initials in self._initials)

        if _contains_name(self._folded, _fold(name)):
            return True
        words = name.split()
        titled = False
        while len(words) > 1 and words[0].rstrip(".") in _TITLES:
            words = words[1:]
            titled = True
        if (len(words) >= 2 or titled) and words[-1] in self._capital_words:
            return True
        # "Space Administration" is kept by "NASA": part of a name may stand in an acronym.
        initials = "".join(word[0] for word in words if word not in _ACRONYM_PARTICLES)
        return len(initials) >= 2 and any(initials in acronym for acronym in self._acronyms)


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _fold(text: str) -> str:
    """Casefold, strip accents ("Zürich" to "zurich") and drop the punctuation that names are written with or without."""
    folded = _strip_accents(text.casefold()).replace("’", "'").replace(".", "").replace("-", " ")
    return " ".join(folded.split())


def _contains_name(folded_text: str, folded_name: str) -> bool:
    """Search a folded name as whole words, allowing a plural or possessive "s" on either side.

    A one-word name of five letters or more also matches a word that extends it
    by up to four letters or shortens it by up to three, which covers derived
    forms such as "Australia" and "Australian", or "Christianity" and "Christian".
    """
    stem = folded_name[:-1] if folded_name.endswith("s") and len(folded_name) > 3 else folded_name
    # Digits may touch a name ("1MiB"), letters may not.
    pattern = rf"(?<![^\W\d_]){re.escape(stem)}(?:s|es|'s)?(?![^\W\d_])"
    if re.search(pattern, folded_text):
        return True
    if " " in folded_name or len(folded_name) < 5:
        return False
    derived = rf"(?<![^\W\d_]){re.escape(folded_name[:-3])}[^\W\d_]{{0,7}}(?![^\W\d_])"
    for match in re.finditer(derived, folded_text):
        word = match.group()
        if word.startswith(folded_name) and len(word) - len(folded_name) <= 4:
            return True
        if folded_name.startswith(word) and len(folded_name) - len(word) <= 3 and len(word) >= 5:
            return True
    return False


def _run_initials(tokens: Sequence[_Token]) -> Iterator[str]:
    """Yield the initials of each run of capitalised words, skipping acronym particles ("and", "of")."""
    initials = ""
    for token in tokens:
        if _is_capitalised(token.word) and not _is_acronym(token.word):
            initials += token.word[0]
        elif token.word not in _ACRONYM_PARTICLES and initials:
            yield initials
            initials = ""
    if initials:
        yield initials
