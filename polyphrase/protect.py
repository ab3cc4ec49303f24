"""Masking of code and math so that a rewrite keeps them byte for byte.

Before a chunk goes to the model, every fenced code block, every indented
block of code and every math span is replaced by a placeholder such as
⟦CODE1⟧; the stitch node puts the original text back. The model therefore
never retypes code or formulas.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

PLACEHOLDER_RE = re.compile(r"⟦(CODE|MATH)(\d+)⟧")

_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[^\n]*\n.*?^(?P=indent)(?P=fence)[ \t]*$", re.M | re.S)
_DISPLAY_MATH_RE = re.compile(r"\$\$.+?\$\$", re.S)
# Inline math: `$...$` on one line, with no space just inside either dollar sign
# and no digit right after the closing one, so "costs $5 and $10" is left alone.
_INLINE_MATH_RE = re.compile(r"(?<![\\$\w])\$(?=[^\s$])[^$\n]{1,300}?(?<=[^\s$\\])\$(?![\d$])")
# Money such as "$5" or "$1.5 million" opening an inline match is not math.
_MONEY_RE = re.compile(r"^\$[\d.,]+(\s|$)")


def mask_protected(text: str) -> tuple[str, dict[str, str]]:
    """Replace code blocks and math spans by placeholders; return the masked text and the placeholder map."""
    spans: dict[str, str] = {}

    def add_span(kind: str, original: str) -> str:
        name = f"⟦{kind}{len(spans) + 1}⟧"
        spans[name] = original
        return name

    def replace(kind: str):
        def substitute(match: re.Match[str]) -> str:
            if kind == "MATH" and _MONEY_RE.match(match.group(0)):
                return match.group(0)
            return add_span(kind, match.group(0))

        return substitute

    masked = _FENCE_RE.sub(replace("CODE"), text)
    masked = _mask_indented_code(masked, lambda block: add_span("CODE", block))
    masked = _DISPLAY_MATH_RE.sub(replace("MATH"), masked)
    masked = _INLINE_MATH_RE.sub(replace("MATH"), masked)
    return masked, spans


# A symbol that marks a line as code or a formula rather than indented prose.
_CODE_SYMBOLS_RE = re.compile(r"[=(){}\[\];<>!&|]")
_LIST_MARKER_RE = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]")
_INDENT_RE = re.compile(r"^[ \t]*")
_RST_DIRECTIVE_RE = re.compile(r"^[ \t]*\.\. [\w-]+::")
_RST_CODE_DIRECTIVE_RE = re.compile(r"^[ \t]*\.\. (?:code|code-block|sourcecode|literalinclude|doctest)::")


def _mask_indented_code(text: str, add_span: Callable[[str], str]) -> str:
    """Replace indented blocks of code, as plain-text dictionaries and Markdown write them, by placeholders.

    A block is a run of lines indented deeper than the text's most common
    indentation. It counts as code when every line of it contains a code
    symbol such as "=", "(" or ";". It also counts when it is indented 4 or
    more columns deeper and follows a blank line or a line that ends with ":".
    A list item's continuation, the body of an RST directive other than code,
    and the first line of the text are never code.
    """
    lines = text.split("\n")
    widths = Counter(_indent_width(line) for line in lines if line.strip())
    if not widths:
        return text
    base = max(widths, key=lambda width: (widths[width], -width))

    masked: list[str] = []
    lead = ""  # the last non-blank line before `index`
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip() or _indent_width(line) <= base or _LIST_MARKER_RE.match(line) or index == 0:
            masked.append(line)
            lead = line if line.strip() else lead
            index += 1
            continue

        end = index
        while end < len(lines) and lines[end].strip() and _indent_width(lines[end]) > base:
            end += 1
        block = lines[index:end]
        previous = lines[index - 1]
        after_break = not previous.strip() or previous.rstrip().endswith(":")
        deep = min(_indent_width(block_line) for block_line in block) >= base + 4
        # A list item's continuation and the body of an RST directive such as ".. note::" are prose.
        prose_lead = _LIST_MARKER_RE.match(lead) or (_RST_DIRECTIVE_RE.match(lead) and not _RST_CODE_DIRECTIVE_RE.match(lead))
        if not prose_lead and ((deep and after_break) or all(_CODE_SYMBOLS_RE.search(block_line) for block_line in block)):
            masked.append(add_span("\n".join(block)))
        else:
            masked.extend(block)
        lead = block[-1]
        index = end
    return "\n".join(masked)


def _indent_width(line: str) -> int:
    return len(_INDENT_RE.match(line).group().expandtabs(4))


def unmask(text: str, spans: dict[str, str]) -> str:
    """Put the original code and math back in place of their placeholders."""
    return PLACEHOLDER_RE.sub(lambda match: spans.get(match.group(0), match.group(0)), text)


def missing_placeholders(text: str, spans: dict[str, str]) -> list[str]:
    """Return the placeholders of `spans` that `text` lacks, in order."""
    return [name for name in spans if name not in text]


def is_protected_only(masked: str) -> bool:
    """Return True when nothing but placeholders and whitespace is left to rewrite."""
    return not PLACEHOLDER_RE.sub("", masked).strip()


# Lines that close an entry without anything to rephrase: a date stamp such as
# "(1995-03-20)", or a bracketed source reference such as "[{Jargon File}]".
_END_MATTER_LINE_RE = re.compile(r"^[ \t]*(?:[(\[]?\d{4}(?:-\d{2}){0,2}[)\]]?|\[[^\[\]\n]{1,80}\])[ \t]*$")


def split_end_matter(masked: str) -> tuple[str, list[str]]:
    """Split a chunk into its body and the date-stamp and reference lines that end it.

    The rewrite node sends only the body to the model and puts these lines
    back after the rewrite, so they are kept verbatim. A chunk that has
    nothing else returns an empty body.
    """
    lines = masked.rstrip().split("\n")
    end = len(lines)
    while end > 0 and (_END_MATTER_LINE_RE.match(lines[end - 1]) or not lines[end - 1].strip()):
        end -= 1
    end_matter = [line.strip() for line in lines[end:] if line.strip()]
    if not end_matter:
        return masked, []
    return "\n".join(lines[:end]).rstrip(), end_matter
