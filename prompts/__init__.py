"""Prompt files: the rewrite, fact-extraction and comparison prompts, and the style library.

Each file starts with `key: value` header lines, then a line `---`, then the
body. Prompt bodies use `{name}` placeholders. A prompt's version is a hash of
its file text, so editing a prompt invalidates the cached answers made with it.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from polyphrase.errors import PromptError

PROMPT_DIR = Path(__file__).resolve().parent
STYLE_DIR = PROMPT_DIR / "styles"


@dataclass(frozen=True)
class PromptFile:
    """A parsed prompt file: its header fields, its body and a content hash."""

    path: Path
    header: dict[str, str]
    body: str
    version: str

    @property
    def variables(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.body) if name}

    def render(self, **values: str) -> str:
        """Fill the placeholders; raise PromptError naming every missing variable."""
        missing = sorted(self.variables - values.keys())
        if missing:
            raise PromptError(f"{self.path}: missing prompt variables: {', '.join(missing)}")
        return self.body.format_map(values)


def parse_prompt_file(path: Path) -> PromptFile:
    """Read a prompt file; raise PromptError when its header is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PromptError(f"cannot read prompt file {path}: {error}") from error

    head, separator, body = text.partition("\n---\n")
    if not separator:
        raise PromptError(f"{path}: missing the '---' line between the header and the body")
    header: dict[str, str] = {}
    for number, line in enumerate(head.splitlines(), start=1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise PromptError(f"{path}:{number}: header line is not 'key: value': {line!r}")
        header[key.strip()] = value.strip()

    version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return PromptFile(path=path, header=header, body=body.strip() + "\n", version=version)


def load_prompt(name: str) -> PromptFile:
    """Load `prompts/<name>.md`."""
    path = PROMPT_DIR / f"{name}.md"
    try:
        stat = path.stat()
    except OSError:
        raise PromptError(f"prompt file not found: {path}") from None
    return _parse_cached(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parse_cached(path: Path, mtime_ns: int, size: int) -> PromptFile:
    """Parse a prompt file once per version on disk; every LLM call loads its prompts."""
    return parse_prompt_file(path)


@dataclass(frozen=True)
class Style:
    """One rewriting style or perspective."""

    name: str
    description: str
    instructions: str
    version: str
    math_only: bool = False


@dataclass
class StyleLibrary:
    """The styles a document can be rewritten in, by name."""

    styles: dict[str, Style] = field(default_factory=dict)

    @classmethod
    def load(cls, *directories: Path) -> "StyleLibrary":
        """Load every `*.md` style file; a later directory's style replaces an earlier one of the same name."""
        library = cls()
        for directory in directories or (STYLE_DIR,):
            if not directory.is_dir():
                raise PromptError(f"style directory not found: {directory}")
            for path in sorted(directory.glob("*.md")):
                library.add(_style_from_file(path))
        return library

    def add(self, style: Style) -> None:
        self.styles[style.name] = style

    def get(self, name: str) -> Style:
        try:
            return self.styles[name]
        except KeyError:
            known = ", ".join(sorted(self.styles))
            raise PromptError(f"unknown style {name!r}; known styles: {known}") from None

    def choose(self, doc_id: str, count: int, *, is_math: bool) -> list[str]:
        """Pick `count` distinct styles for a document, the same ones every run.

        The choice is seeded by a hash of the document id. Math-only styles
        (learning notes) are offered only for math documents, and one of them
        comes first for such a document.
        """
        seed = int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big")
        rng = random.Random(seed)
        general = sorted(name for name, style in self.styles.items() if not style.math_only)
        math = sorted(name for name, style in self.styles.items() if style.math_only)

        chosen: list[str] = []
        if is_math and math:
            chosen.append(rng.choice(math))
        pool = [name for name in general if name not in chosen]
        chosen.extend(rng.sample(pool, k=min(len(pool), count - len(chosen))))
        return chosen[:count]


def _style_from_file(path: Path) -> Style:
    prompt = parse_prompt_file(path)
    for required in ("name", "description"):
        if not prompt.header.get(required):
            raise PromptError(f"{path}: style file is missing the '{required}:' header line")
    return Style(
        name=prompt.header["name"],
        description=prompt.header["description"],
        instructions=prompt.body.strip(),
        version=prompt.version,
        math_only=prompt.header.get("for", "any").lower() == "math",
    )


_TAG_NAMES = ("source", "previous_rewrite", "previous_attempt", "feedback", "facts", "rewrite")
_TAG_RE = re.compile(r"<(/?)(" + "|".join(_TAG_NAMES) + r")\b", re.I)
_ESCAPED_TAG_RE = re.compile(r"&lt;(/?)(" + "|".join(_TAG_NAMES) + r")\b", re.I)


def escape_tags(text: str) -> str:
    """Neutralise our own tag names inside data, so a source cannot close its <source> block early."""
    return _TAG_RE.sub(r"&lt;\1\2", text)


def unescape_tags(text: str) -> str:
    """Undo `escape_tags` in model output."""
    return _ESCAPED_TAG_RE.sub(r"<\1\2", text)
