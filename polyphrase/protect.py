"""Masking of code and math so that a rewrite keeps them byte for byte.

Before a chunk goes to the model, every fenced code block and every math span
is replaced by a placeholder such as ⟦CODE1⟧; the stitch node puts the
original text back. The model therefore never retypes code or formulas.
"""

from __future__ import annotations

import re

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

    def replace(kind: str):
        def substitute(match: re.Match[str]) -> str:
            if kind == "MATH" and _MONEY_RE.match(match.group(0)):
                return match.group(0)
            name = f"⟦{kind}{len(spans) + 1}⟧"
            spans[name] = match.group(0)
            return name

        return substitute

    masked = _FENCE_RE.sub(replace("CODE"), text)
    masked = _DISPLAY_MATH_RE.sub(replace("MATH"), masked)
    masked = _INLINE_MATH_RE.sub(replace("MATH"), masked)
    return masked, spans


def unmask(text: str, spans: dict[str, str]) -> str:
    """Put the original code and math back in place of their placeholders."""
    return PLACEHOLDER_RE.sub(lambda match: spans.get(match.group(0), match.group(0)), text)


def missing_placeholders(text: str, spans: dict[str, str]) -> list[str]:
    """Return the placeholders of `spans` that `text` lacks, in order."""
    return [name for name in spans if name not in text]


def is_protected_only(masked: str) -> bool:
    """Return True when nothing but placeholders and whitespace is left to rewrite."""
    return not PLACEHOLDER_RE.sub("", masked).strip()


# A line that contains only a date stamp, such as "(1995-03-20)" at the end of
# a dictionary entry. It dates the entry and has nothing to rephrase.
_DATE_STAMP_LINE_RE = re.compile(r"^[ \t]*[(\[]?\d{4}(?:-\d{2}){0,2}[)\]]?[ \t]*$")


def split_date_stamps(masked: str) -> tuple[str, str]:
    """Split a chunk into its body and the date-stamp lines that end it.

    The rewrite node sends only the body to the model and puts the date
    stamps back after the rewrite, so they are kept verbatim. A chunk that is
    nothing but date stamps returns ("", the stripped chunk).
    """
    lines = masked.rstrip().split("\n")
    end = len(lines)
    while end > 0 and (_DATE_STAMP_LINE_RE.match(lines[end - 1]) or not lines[end - 1].strip()):
        end -= 1
    stamps = "\n".join(line.strip() for line in lines[end:] if line.strip())
    if not stamps:
        return masked, ""
    return "\n".join(lines[:end]).rstrip(), stamps
