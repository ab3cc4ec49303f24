"""Split a document into chunks that fit a token budget, cutting at the largest structural boundary."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from langgraph.runtime import Runtime

from polyphrase.graph.context import Context
from polyphrase.graph.state import State
from polyphrase.tokens import CJK_CHARS, TOKEN_PATTERN, estimate_tokens


def split_into_chunks(text: str, max_tokens: int) -> list[str]:
    """Split `text` into consecutive chunks of at most `max_tokens` tokens each, as `estimate_tokens` counts them.

    The chunks join back to `text` exactly. Each chunk ends at the strongest
    cut that keeps it within budget, and at the furthest one among equals.
    From strongest to weakest, a cut goes before a Markdown or reST heading
    (shallower first), after blank lines, at a line break, after a sentence, at
    a line break inside a hard-wrapped sentence, and at a word boundary.

    A heading stays with the start of the text after it. It ends a chunk only
    when that text begins with a protected span that fits the budget alone but
    not together with the heading. Protected spans are fenced code, reST
    literal, code and doctest blocks, table rows, whole tables, and `$...$` or
    `$$...$$` math. They are cut only when they alone exceed the budget: at
    line breaks, then after sentences, then at word boundaries, and last
    between estimated tokens. Since one estimated token always fits, no chunk
    ever exceeds the budget.

    Raises ValueError when `max_tokens` is less than 1.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if not text:
        return []

    layout = _scan_layout(text, max_tokens)
    atoms = _Atoms(text, max_tokens, layout)
    start = 0
    for end, level in [*layout.hard_cuts, (len(text), _END)]:
        atoms.add(start, end, level, stage=0)
        start = end
    return atoms.pack()


# Cut levels, strongest first. A heading of depth d (1 to 6) gives level d - 1.
_PARAGRAPH = 6
_LINE = 7
_SENTENCE = 8
_WRAP = 9  # a line break inside a sentence of hard-wrapped prose
_WORD = 10
# Cuts inside a protected span over budget, or between a heading and its text.
_FALLBACK_PARAGRAPH = 11
_FALLBACK_LINE = 12
_FALLBACK_SENTENCE = 13
_FALLBACK_WORD = 14
_TOKEN = 15
_END = -1  # the end of the text

_MAX_HEADING_DEPTH = 6

# Refinement stages for a unit over budget, in order. Each stage adds finer
# cuts, and only the pieces still over budget go on to the next stage.
_STAGE_SENTENCES = 0
_STAGE_WORDS = 1
_STAGE_GLUED_LINES = 2
_STAGE_ALL_LINES = 3
_STAGE_ALL_SENTENCES = 4
_STAGE_ALL_WORDS = 5
_STAGE_TOKENS = 6

_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")
_BARE_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*")
_DIRECTIVE = re.compile(r"[ \t]*\.\. [^\s:]+::")
_CODE_DIRECTIVE = re.compile(
    r"[ \t]*\.\. (?:code-block|code|sourcecode|doctest|testcode|testsetup|testcleanup|testoutput"
    r"|productionlist|console|parsed-literal|math)::"
)
# NOTE: reST simple tables, framed by lines such as `=====  =====`, and
# Markdown code indented by four spaces are not recognised, so line cuts can
# fall inside them like inside prose.
_TABLE_LINE = re.compile(r"[ \t]*(?:\||\+(?:[-=]+\+)+$)")
_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]|$)")
_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+")
_RST_LABEL = re.compile(r"\.\. _[^:]*:")
_SENTENCE_FINAL = re.compile(r"[.!?:;…。！？：；][\"'”’)\]»」』）]*$")
# List items, enumerators such as (1), headings, tables, quotes, shell
# prompts, reST field lists and directives, and code fences.
_BLOCK_START = re.compile(r"[ \t]*(?:[-*+•][ \t]|\d+[.)][ \t]|\(\w{1,3}\)|[#|>$]|:[^:`\s][^:`]*:(?:\s|$)|\.\. |```|~~~)")

_SENTENCE_END = re.compile(
    r"[.!?][\"'”’)\]»]*[^\S\n]+(?=[^\sa-z])"  # a lowercase word after the stop marks an abbreviation
    r"|[。！？][」』）”’]*[^\S\n]*(?=\S)"
)
_WORD_BREAK = re.compile(rf"(?<=[^\S\n])(?=\S)|(?<=[{CJK_CHARS}])(?=\S)|(?<=\S)(?=[{CJK_CHARS}])")

# Backslash escapes and inline code are matched only to skip the `$` inside them.
_DOLLAR_TOKEN = re.compile(r"\\.|`+[^`\n]*`+|\${1,2}", re.DOTALL)
_MONEY = re.compile(r"\d[\d,]*(?:\.\d+)?(?=[\s,.;:!?)\]]|$)")
_MATH_SIGNAL = re.compile(r"[\\^_{}=]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class _Spans:
    """Sorted, merged open intervals. A cut strictly inside one is blocked."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self._starts = [start for start, _ in merged]
        self._ends = [end for _, end in merged]

    def __contains__(self, position: int) -> bool:
        index = bisect.bisect_left(self._starts, position) - 1
        return index >= 0 and position < self._ends[index]

    def overlaps(self, start: int, end: int) -> bool:
        """Tell whether a span may block a cut inside (start, end). False means that none does."""
        index = bisect.bisect_left(self._starts, end) - 1
        return index >= 0 and start < self._ends[index] - 1


@dataclass
class _Layout:
    """Cut positions found from the document structure, and the spans that block cuts."""

    hard_cuts: list[tuple[int, int]]  # (position, level) of headings, paragraphs and lines, sorted
    wrap_cuts: list[int]  # line breaks inside hard-wrapped sentences, sorted
    glued_cuts: list[int]  # line breaks between a heading and its text, sorted
    protected: _Spans  # code, tables, table rows, math and heading lines
    glued: _Spans  # from each heading to the start of the text after it


class _Atoms:
    """The text cut into atoms that each fit the budget, and their packing into chunks."""

    def __init__(self, text: str, max_tokens: int, layout: _Layout) -> None:
        self.text = text
        self.max_tokens = max_tokens
        self.layout = layout
        self.ends: list[int] = []
        self.costs: list[int] = []
        self.levels: list[int] = []  # level of the cut at each atom's end

    def add(self, start: int, end: int, level: int, stage: int, cost: int | None = None) -> None:
        """Append text[start:end] as one atom, or as several when it is over budget."""
        if cost is None:
            cost = estimate_tokens(self.text[start:end])
        if cost <= self.max_tokens:
            self._append(end, cost, level)
            return
        if stage == _STAGE_TOKENS:
            self._add_tokens(start, end, level)
            return

        cuts = self._cuts(stage, start, end)
        if not cuts:
            self.add(start, end, level, stage + 1, cost)
            return
        for position, cut_level in cuts:
            self.add(start, position, cut_level, stage + 1)
            start = position
        self.add(start, end, level, stage + 1)

    def pack(self) -> list[str]:
        """Join the atoms into chunks, ending each at the strongest cut that fits, the furthest among equals."""
        chunks: list[str] = []
        start = 0
        first = 0
        while first < len(self.ends):
            total = 0
            best = first
            best_level = self.levels[first]
            index = first
            while index < len(self.ends) and total + self.costs[index] <= self.max_tokens:
                total += self.costs[index]
                if self.levels[index] <= best_level:
                    best, best_level = index, self.levels[index]
                index += 1
            chunks.append(self.text[start : self.ends[best]])
            start = self.ends[best]
            first = best + 1
        return chunks

    def _append(self, end: int, cost: int, level: int) -> None:
        self.ends.append(end)
        self.costs.append(cost)
        self.levels.append(level)

    def _add_tokens(self, start: int, end: int, level: int) -> None:
        # Each piece is one estimated token plus the whitespace around it, so
        # it costs exactly 1 and fits any budget.
        token_starts = [match.start() for match in TOKEN_PATTERN.finditer(self.text, start, end)]
        for position in token_starts[1:]:
            self._append(position, 1, _TOKEN)
        self._append(end, 1, level)

    def _cuts(self, stage: int, start: int, end: int) -> list[tuple[int, int]]:
        """Return the cuts strictly inside (start, end) that `stage` adds, sorted by position."""
        layout = self.layout
        if stage == _STAGE_SENTENCES:
            sentences = [(match.end(), _SENTENCE) for match in _SENTENCE_END.finditer(self.text, start, end)]
            wraps = [(position, _WRAP) for position in _between(layout.wrap_cuts, start, end)]
            return self._allowed(sorted(sentences + wraps), start, end)
        if stage == _STAGE_WORDS:
            words = [(match.start(), _WORD) for match in _WORD_BREAK.finditer(self.text, start, end)]
            return self._allowed(words, start, end)
        if stage == _STAGE_GLUED_LINES:
            return [(position, _FALLBACK_LINE) for position in _between(layout.glued_cuts, start, end)]
        if stage == _STAGE_ALL_LINES:
            return _line_starts(self.text, start, end)
        if stage == _STAGE_ALL_SENTENCES:
            sentences = (match.end() for match in _SENTENCE_END.finditer(self.text, start, end))
            return [(position, _FALLBACK_SENTENCE) for position in sentences if start < position < end]
        words = (match.start() for match in _WORD_BREAK.finditer(self.text, start, end))
        return [(position, _FALLBACK_WORD) for position in words if start < position < end]

    def _allowed(self, cuts: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
        """Drop the cuts outside (start, end) and those that protected or glued spans block."""
        cuts = [cut for cut in cuts if start < cut[0] < end]
        protected, glued = self.layout.protected, self.layout.glued
        if not protected.overlaps(start, end) and not glued.overlaps(start, end):
            return cuts
        return [cut for cut in cuts if cut[0] not in protected and cut[0] not in glued]


def _between(positions: list[int], start: int, end: int) -> list[int]:
    """Return the sorted positions strictly between start and end."""
    return positions[bisect.bisect_right(positions, start) : bisect.bisect_left(positions, end)]


def _line_starts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Return the starts of non-blank lines strictly inside (start, end), with fallback levels.

    A line after a blank line gets the stronger level, so that an oversized
    code block splits between its paragraphs where it can.
    """
    cuts = []
    line_start = start
    newline = text.find("\n", start, end)
    while newline != -1 and newline + 1 < end:
        next_newline = text.find("\n", newline + 1, end)
        line_end = end if next_newline == -1 else next_newline
        if text[newline + 1 : line_end].strip():
            after_blank = not text[line_start:newline].strip()
            cuts.append((newline + 1, _FALLBACK_PARAGRAPH if after_blank else _FALLBACK_LINE))
        line_start = newline + 1
        newline = next_newline
    return cuts


def _scan_layout(text: str, max_tokens: int) -> _Layout:
    """Find code, tables, headings and math, and the cuts that the structure allows."""
    raw_lines = text.split("\n")
    lines = [line.rstrip() for line in raw_lines]
    bounds = [0]  # bounds[i] is where line i starts, and bounds[-1] is the end of the text
    for line in raw_lines:
        bounds.append(bounds[-1] + len(line) + 1)
    bounds[-1] = len(text)

    in_code = [False] * len(lines)
    protected: list[tuple[int, int]] = []
    for first, last in _find_code_blocks(lines):
        in_code[first : last + 1] = [True] * (last + 1 - first)
        protected.append((bounds[first], bounds[last + 1]))

    in_block = in_code.copy()  # lines of code, tables and headings
    for first, last in _find_tables(lines, in_code):
        in_block[first : last + 1] = [True] * (last + 1 - first)
        protected.extend((bounds[row_first], bounds[row_last + 1]) for row_first, row_last in _table_rows(lines, first, last))
        if estimate_tokens(text[bounds[first] : bounds[last + 1]]) <= max_tokens:
            protected.append((bounds[first], bounds[last + 1]))

    headings = _find_headings(lines, in_block)
    glued: list[tuple[int, int]] = []
    for first, last, _ in headings:
        in_block[first : last + 1] = [True] * (last + 1 - first)
        protected.append((bounds[first], bounds[last + 1]))
        glued.append((bounds[first], bounds[_next_nonblank(lines, last + 1)] + 1))

    for first, last in _prose_paragraphs(lines, in_code):
        protected.extend(_find_math(text, bounds[first], bounds[last + 1]))

    layout = _Layout([], [], [], _Spans(protected), _Spans(glued))
    heading_levels = {first: depth - 1 for first, _, depth in headings}
    _add_line_cuts(layout, lines, bounds, in_block, heading_levels)
    return layout


def _add_line_cuts(
    layout: _Layout, lines: list[str], bounds: list[int], in_block: list[bool], heading_levels: dict[int, int]
) -> None:
    """Add a cut at the start of each non-blank line to the layout, sorted into hard, wrap and glued cuts."""
    for index in range(1, len(lines)):
        if not lines[index]:
            continue
        position = bounds[index]
        if position in layout.protected:
            continue
        if position in layout.glued:
            layout.glued_cuts.append(position)
        elif index in heading_levels:
            layout.hard_cuts.append((position, heading_levels[index]))
        elif not lines[index - 1]:
            layout.hard_cuts.append((position, _PARAGRAPH))
        elif in_block[index] or in_block[index - 1] or _is_hard_break(lines[index - 1], lines[index]):
            layout.hard_cuts.append((position, _LINE))
        else:
            layout.wrap_cuts.append(position)


def _next_nonblank(lines: list[str], index: int) -> int:
    """Return the index of the first non-blank line at or after `index`, or len(lines)."""
    while index < len(lines) and not lines[index]:
        index += 1
    return index


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_hard_break(previous: str, line: str) -> bool:
    """Tell whether a line break ends a sentence or a block, rather than wrapping prose.

    A deeper indented line continues the line above, like the second line of
    a list item or a definition under its term.
    """
    if _SENTENCE_FINAL.search(previous) or _BLOCK_START.match(line):
        return True
    return _indent(line) < _indent(previous)


def _find_code_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """Return the line ranges, inclusive, of fenced code, reST literal and code blocks, and doctest blocks.

    A fence without a closing fence is not a code block, so that one stray
    fence cannot protect the rest of the document.
    """
    closers: dict[str, tuple[list[int], list[int]]] = {"`": ([], []), "~": ([], [])}
    for index, line in enumerate(lines):
        bare = _BARE_FENCE.fullmatch(line)
        if bare:
            closers[bare.group(1)[0]][0].append(index)
            closers[bare.group(1)[0]][1].append(len(bare.group(1)))

    blocks = []
    index = 0
    while index < len(lines):
        last = _code_block_end(lines, index, closers)
        if last is None:
            index += 1
        else:
            blocks.append((index, last))
            index = last + 1
    return blocks


def _code_block_end(lines: list[str], index: int, closers: dict[str, tuple[list[int], list[int]]]) -> int | None:
    """Return the last line of the code block that starts at line `index`, or None."""
    line = lines[index]
    fence = _FENCE.match(line)
    if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
        closer_lines, closer_lengths = closers[fence.group(1)[0]]
        for candidate in range(bisect.bisect_right(closer_lines, index), len(closer_lines)):
            if closer_lengths[candidate] >= len(fence.group(1)):
                return closer_lines[candidate]
        return None
    if _CODE_DIRECTIVE.match(line):
        return _indented_block_end(lines, index)
    if line.endswith("::") and not _DIRECTIVE.match(line):
        # A reST literal block needs a blank line after the `::` paragraph.
        if index + 1 < len(lines) and not lines[index + 1]:
            return _indented_block_end(lines, index)
        return None
    if line.lstrip().startswith(">>>") and (index == 0 or not lines[index - 1]):
        return _paragraph_end(lines, index)
    return None


def _indented_block_end(lines: list[str], index: int) -> int | None:
    """Return the last line indented deeper than line `index` before the indentation returns, or None."""
    base = _indent(lines[index])
    last = None
    for candidate in range(index + 1, len(lines)):
        line = lines[candidate]
        if not line:
            continue
        if _indent(line) <= base:
            break
        last = candidate
    return last


def _paragraph_end(lines: list[str], index: int) -> int:
    """Return the last line of the paragraph that contains line `index`."""
    while index + 1 < len(lines) and lines[index + 1]:
        index += 1
    return index


def _find_tables(lines: list[str], in_code: list[bool]) -> list[tuple[int, int]]:
    """Return the line ranges, inclusive, of Markdown pipe tables and reST grid tables."""
    tables = []
    first = None
    for index, line in enumerate(lines):
        is_row = not in_code[index] and _TABLE_LINE.match(line) is not None
        if is_row and first is None:
            first = index
        elif not is_row and first is not None:
            tables.append((first, index - 1))
            first = None
    if first is not None:
        tables.append((first, len(lines) - 1))
    return tables


def _table_rows(lines: list[str], first: int, last: int) -> list[tuple[int, int]]:
    """Return the line ranges, inclusive, of the rows of the table on lines first to last.

    A Markdown row is one line. A reST grid table row is every line after a
    border up to and including the next border, so that a cut between rows
    comes right after a border.
    """
    if not lines[first].lstrip().startswith("+"):
        return [(row, row) for row in range(first, last + 1)]
    borders = [index for index in range(first, last + 1) if lines[index].lstrip().startswith("+")]
    return [(border + 1, next_border) for border, next_border in zip(borders, borders[1:])]


def _find_headings(lines: list[str], in_block: list[bool]) -> list[tuple[int, int, int]]:
    """Return (first line, last line, depth) of each Markdown ATX heading and reST section title.

    reST depths follow the order in which adornment styles first appear, as in
    docutils. A title's range starts at any reST labels such as `.. _name:`
    right above it, so that the labels stay with the title.
    """
    headings = []
    styles: dict[tuple[str, bool], int] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        if in_block[index] or not line:
            index += 1
            continue

        floor = headings[-1][1] + 1 if headings else 0
        atx = _ATX_HEADING.match(line)
        title = None if atx else _underlined_title(lines, index, in_block, floor)
        if atx:
            first, last, depth = index, index, len(atx.group(1))
        elif title:
            first, last, style = title
            depth = styles.setdefault(style, min(len(styles) + 1, _MAX_HEADING_DEPTH))
        else:
            index += 1
            continue

        while first > floor:
            above = _next_nonblank_above(lines, first - 1, floor)
            if above is None or in_block[above] or not _RST_LABEL.fullmatch(lines[above]):
                break
            first = above
        headings.append((first, last, depth))
        index = last + 1
    return headings


def _next_nonblank_above(lines: list[str], index: int, floor: int) -> int | None:
    """Return the index of the last non-blank line in lines[floor:index + 1], or None."""
    while index >= floor and not lines[index]:
        index -= 1
    return index if index >= floor else None


def _underlined_title(
    lines: list[str], index: int, in_block: list[bool], floor: int
) -> tuple[int, int, tuple[str, bool]] | None:
    """Return (first line, last line, adornment style) when line `index` is a reST or setext title.

    An overline counts only at or after line `floor`, the first line that no
    earlier heading claims.
    """
    if index + 1 >= len(lines) or in_block[index + 1]:
        return None
    title = lines[index]
    underline = lines[index + 1]
    if not _ADORNMENT.fullmatch(underline) or _ADORNMENT.fullmatch(title) or not re.search(r"\w", title):
        return None
    if len(underline) < max(2, len(title.strip())):
        return None
    if index - 1 >= floor and lines[index - 1] == underline:
        return index - 1, index + 1, (underline[0], True)
    if title != title.lstrip() or (index > 0 and lines[index - 1]):
        return None
    return index, index + 1, (underline[0], False)


def _prose_paragraphs(lines: list[str], in_code: list[bool]) -> list[tuple[int, int]]:
    """Return the line ranges, inclusive, of runs of non-blank lines outside code."""
    paragraphs = []
    first = None
    for index, line in enumerate(lines):
        inside = bool(line) and not in_code[index]
        if inside and first is None:
            first = index
        elif not inside and first is not None:
            paragraphs.append((first, index - 1))
            first = None
    if first is not None:
        paragraphs.append((first, len(lines) - 1))
    return paragraphs


def _find_math(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Return the `$$...$$` and `$...$` spans in one paragraph, text[start:end].

    `$$` pairs in order. A single `$` opens math when a non-space follows it
    and closes math when a non-space precedes it and no digit follows, the
    rule of the tex_math_dollars extension in the Pandoc manual. An opener
    that reads as an amount of money, such as `$5` or `$1,000.50`, closes only
    over LaTeX-like content or a bare number. So "costs $5 and $10" contains
    no math, and a `$` that never closes protects nothing.
    """
    if text.find("$", start, end) == -1:
        return []
    displays = []
    singles = []
    for match in _DOLLAR_TOKEN.finditer(text, start, end):
        if match.group() == "$$":
            displays.append(match.start())
        elif match.group() == "$":
            singles.append(match.start())

    spans = [(displays[index], displays[index + 1] + 2) for index in range(0, len(displays) - 1, 2)]
    outside = []
    span_index = 0
    for position in singles:
        while span_index < len(spans) and spans[span_index][1] <= position:
            span_index += 1
        if span_index == len(spans) or position < spans[span_index][0]:
            outside.append(position)
    return spans + _pair_inline_dollars(text, outside, end)


def _pair_inline_dollars(text: str, positions: list[int], end: int) -> list[tuple[int, int]]:
    """Pair the single `$` signs at `positions` into inline math spans, by the rules in _find_math."""
    spans = []
    opener = None
    for position in positions:
        if opener is not None and _can_close_math(text, position, end):
            content = text[opener + 1 : position]
            money = _MONEY.match(text, opener + 1, end) is not None
            if not money or _MATH_SIGNAL.search(content) or _NUMBER.fullmatch(content):
                spans.append((opener, position + 1))
                opener = None
                continue
            opener = None
        if position + 1 < end and not text[position + 1].isspace():
            opener = position
    return spans


def _can_close_math(text: str, position: int, end: int) -> bool:
    if text[position - 1].isspace():
        return False
    return position + 1 >= end or not text[position + 1].isdigit()


async def chunk_document(state: State, runtime: Runtime[Context]) -> dict:
    """Split the document into chunks that fit the context's token budget."""
    chunks = split_into_chunks(state["text"], runtime.context.chunk_tokens)
    error = None if any(chunk.strip() for chunk in chunks) else "empty document"
    if error:
        chunks = []
    return {"chunks": chunks, "results": [], "error": error, "source_facts": {}, "usage": {}}
