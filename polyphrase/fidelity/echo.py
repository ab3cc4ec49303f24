"""Echo guard: find text in a rewrite that talks about the source or repeats the prompt.

Asked to keep a missing name such as Deck, small models may write a sentence
like "The Deck is mentioned in the text.". That satisfies the name guard but
adds nothing a pretraining corpus can use. They also copy the
prompt's labels ("Style: terse-expert", "Rewritten passage:") into the reply.
A phrase counts only when the source itself does not contain it, so a source
that discusses "the text" or has a "Style:" line may keep it.
"""

from __future__ import annotations

import re

_ECHO_PATTERNS = (
    # Statements about the source instead of the facts in it.
    re.compile(
        r"\b(?:is|are|was|were)\s+(?:also\s+)?(?:mentioned|stated|referred\s+to|listed|named|given|noted)"
        r"\s+in\s+the\s+(?:source|text|passage|original)\b",
        re.I,
    ),
    re.compile(r"\bthe\s+(?:source|original)\s+(?:text|passage)\b", re.I),
    re.compile(r"\bas\s+the\s+source\s+does\b", re.I),
    # Wording of feedback, as in "State the quantity '120'".
    re.compile(r"\bthe\s+(?:quantity|name)\s+['\"‘“]", re.I),
    # Labels and lines of the rewrite prompt.
    re.compile(r"^[ \t*#_>]*style[ \t*_]*:", re.I | re.M),
    re.compile(r"^[ \t*#_>]*(?:rewrite|rewritten\s+(?:passage|text|version))\b[^\n]{0,80}:[ \t*_]*$", re.I | re.M),
    re.compile(r"\bkeeping\s+every\s+fact\s+and\s+placeholder\b", re.I),
    re.compile(r"\bnames\s+and\s+numbers\s+your\s+rewrite\s+must\s+contain\b", re.I),
)


def find_echoes(source: str, rewrite: str) -> list[str]:
    """Return the lines of `rewrite` that talk about the source or repeat the prompt, each once.

    A pattern is skipped when it also matches in `source`.
    """
    echoes: list[str] = []
    for pattern in _ECHO_PATTERNS:
        if pattern.search(source):
            continue
        match = pattern.search(rewrite)
        if match is not None:
            echoes.append(_line_around(rewrite, match))
    return list(dict.fromkeys(echoes))


def _line_around(text: str, match: re.Match[str]) -> str:
    """Return the match with the rest of its line, cut to 80 characters, for problem messages."""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = text[start : end if end != -1 else len(text)].strip(" \t*#_>")
    return line if len(line) <= 80 else line[:77] + "..."
