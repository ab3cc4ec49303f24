import itertools
import random
import re
import textwrap
import time
from pathlib import Path

import pytest

from polyphrase.nodes.chunk import _find_math, split_into_chunks
from polyphrase.tokens import estimate_tokens

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
CORPUS_MISSING = f"document corpus not found at {CORPUS}"
CORPUS_FILES = sorted(path for path in CORPUS.glob("*/*") if path.suffix in {".md", ".rst", ".txt"})
CORPUS_BUDGETS = [64, 256, 1024]

SENTENCES = [
    "The river rose overnight and covered the lower road.",
    "Farmers moved their cattle to the ridge before dawn.",
    "By noon the water had reached the church steps.",
    "Nobody in the village could remember a flood like it.",
    "The mayor asked the army for boats and blankets.",
    "Two days later the river fell as fast as it had risen.",
]
PARAGRAPH = " ".join(SENTENCES)

CODE_BLOCK = """```python
def mean(values):
    total = sum(values)
    return total / len(values)
```
"""

TABLE = """| Element | Symbol | Number |
| --- | --- | --- |
| Hydrogen | H | 1 |
| Helium | He | 2 |
| Lithium | Li | 3 |
"""

JAPANESE = (
    "川の水位が夜のうちに上がった。農家は夜明け前に牛を尾根へ移した。"
    "正午には水が教会の階段に届いた。村の誰もこれほどの洪水を覚えていなかった。"
    "町長は軍にボートと毛布を求めた。二日後、川は上がったときと同じ速さで引いた。"
)


def cut_positions(chunks: list[str]) -> list[int]:
    """Return the offsets in the joined text where one chunk ends and the next begins."""
    return list(itertools.accumulate(len(chunk) for chunk in chunks))[:-1]


def cuts_inside(chunks: list[str], start: int, end: int) -> list[int]:
    """Return the cut offsets strictly inside text[start:end]."""
    return [cut for cut in cut_positions(chunks) if start < cut < end]


def corpus_params(budgets: list[int]) -> list:
    """Return one parameter set per corpus file and budget, or one skipped set when the corpus is missing."""
    if not CORPUS_FILES:
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=CORPUS_MISSING))]
    return [
        pytest.param(path, budget, id=f"{path.name}-{budget}")
        for path in CORPUS_FILES
        for budget in budgets
    ]


def test_empty_text_returns_no_chunks():
    assert split_into_chunks("", 10) == []


@pytest.mark.parametrize("budget", [0, -3])
def test_budget_below_one_raises(budget):
    with pytest.raises(ValueError, match="max_tokens must be at least 1"):
        split_into_chunks("Some text.", budget)


def test_short_text_is_one_chunk():
    assert split_into_chunks(PARAGRAPH, 1000) == [PARAGRAPH]


def test_whitespace_only_is_one_chunk():
    assert split_into_chunks(" \n\n\t ", 1) == [" \n\n\t "]


@pytest.mark.parametrize("budget", [1, 3, 8, 20, 50])
def test_rejoin_keeps_crlf_and_whitespace(budget):
    text = "Title\r\n=====\r\n\r\n  Indented line.\t\r\n\r\n\r\n" + PARAGRAPH.replace(". ", ".\r\n") + "   \r\n"
    chunks = split_into_chunks(text, budget)

    assert "".join(chunks) == text
    for cut in cut_positions(chunks):
        assert text[cut - 1 : cut + 1] != "\r\n", cut


MIXED_DOCUMENT = f"""# Floods

{PARAGRAPH}

## Records

{TABLE}
The mean depth in metres is computed like this:

{CODE_BLOCK}
## Model

The level follows $h(t) = h_0 e^{{-k t}}$ after the peak, and the inflow $q$ is
$$
q = \\frac{{dV}}{{dt}}
$$
for a volume $V$.

{JAPANESE}
"""


@pytest.mark.parametrize("budget", range(1, 90))
def test_budget_holds_for_every_budget(budget):
    chunks = split_into_chunks(MIXED_DOCUMENT, budget)

    assert "".join(chunks) == MIXED_DOCUMENT
    assert max(estimate_tokens(chunk) for chunk in chunks) <= budget


def test_code_block_is_not_split():
    # No blank lines around the block, so only its protection keeps line cuts out of it.
    text = f"{PARAGRAPH}\nThe mean is computed like this:\n{CODE_BLOCK}{PARAGRAPH}\n"
    start = text.index("```")
    end = text.rindex("```") + 4
    code_tokens = estimate_tokens(text[start:end])

    for budget in range(code_tokens, code_tokens + 40):
        chunks = split_into_chunks(text, budget)
        assert cuts_inside(chunks, start, end) == [], budget
        for chunk in chunks:
            assert len(re.findall(r"^```", chunk, re.MULTILINE)) % 2 == 0, (budget, chunk)


def test_tilde_fence_is_not_split():
    block = "~~~\nfirst line of output\nsecond line of output\n~~~\n"
    text = f"{PARAGRAPH}\nThe output reads:\n{block}{PARAGRAPH}\n"
    start = text.index(block)
    budget = estimate_tokens(block) + 2

    chunks = split_into_chunks(text, budget)

    assert cuts_inside(chunks, start, start + len(block)) == []


def test_oversize_code_block_splits_at_lines():
    body = "".join(f"    value_{index} = compute(value_{index - 1}, step={index})\n" for index in range(1, 40))
    text = f"Intro.\n\n```\n{body}```\n\nOutro.\n"
    start = text.index("```")
    end = text.rindex("```") + 4
    budget = 60
    assert estimate_tokens(text[start:end]) > budget

    chunks = split_into_chunks(text, budget)

    assert len(cuts_inside(chunks, start, end)) > 1
    for cut in cuts_inside(chunks, start, end):
        assert text[cut - 1] == "\n", cut


def test_unclosed_fence_does_not_protect_rest():
    text = "```\n\n" + "\n\n".join([PARAGRAPH] * 4) + "\n"
    paragraph_starts = {match.start() for match in re.finditer(r"(?<=\n\n)\S", text)}
    budget = estimate_tokens(PARAGRAPH) + 5

    chunks = split_into_chunks(text, budget)

    assert len(chunks) == 4
    assert set(cut_positions(chunks)) <= paragraph_starts


def test_table_stays_in_one_chunk():
    text = f"{PARAGRAPH}\nThe first elements are:\n{TABLE}{PARAGRAPH}\n"
    start = text.index(TABLE)
    table_tokens = estimate_tokens(TABLE)

    for budget in range(table_tokens, table_tokens + 30):
        chunks = split_into_chunks(text, budget)
        assert cuts_inside(chunks, start, start + len(TABLE)) == [], budget


def test_oversize_table_splits_between_rows():
    rows = "".join(f"| Element {index} | E{index} | {index} |\n" for index in range(40))
    table = "| Name | Symbol | Number |\n| --- | --- | --- |\n" + rows
    text = f"Intro.\n\n{table}\nOutro.\n"
    start = text.index(table)
    budget = 50
    assert estimate_tokens(table) > budget

    chunks = split_into_chunks(text, budget)

    assert len(cuts_inside(chunks, start, start + len(table))) > 1
    for cut in cuts_inside(chunks, start, start + len(table)):
        assert text[cut - 1] == "\n", cut


def test_grid_table_splits_after_borders():
    border = "+--------+--------+\n"
    rows = "".join(f"| cell {index:<2} | row {index:<3} |\n|        | more   |\n{border}" for index in range(30))
    table = border + rows
    text = f"Intro.\n\n{table}\nOutro.\n"
    start = text.index(table)
    budget = 40
    assert estimate_tokens(table) > budget

    chunks = split_into_chunks(text, budget)

    assert len(cuts_inside(chunks, start, start + len(table))) > 1
    for cut in cuts_inside(chunks, start, start + len(table)):
        assert text[:cut].endswith(border), cut


def test_inline_math_is_not_cut():
    text = (
        "The estimate is $\\hat{y} = a + b x$ for each point. "
        "Its error term $\\varepsilon \\sim N(0, \\sigma^2)$ is independent. "
        "The sum $S = \\sum_{i=1}^{n} (y_i - \\bar{y})^2$ measures the spread. "
    ) * 3
    spans = [match.span() for match in re.finditer(r"\$[^$]+\$", text)]
    widest = max(estimate_tokens(text[start:end]) for start, end in spans)

    for budget in range(widest, widest + 20):
        chunks = split_into_chunks(text, budget)
        for start, end in spans:
            assert cuts_inside(chunks, start, end) == [], (budget, text[start:end])


def test_display_math_across_lines_is_not_cut():
    display = "$$\nF = \\frac{MS_{between}}{MS_{within}}\n$$"
    text = f"The statistic is\n{display}\nwhich follows an F distribution.\n"
    start = text.index(display)
    budget = estimate_tokens(display) + 1

    chunks = split_into_chunks(text, budget)

    assert cuts_inside(chunks, start, start + len(display)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the map $x$ here", ["$x$"]),
        ("the mean is $2.5$ here", ["$2.5$"]),
        ("it is $1 + {n \\sigma^2} / {m}$ here", ["$1 + {n \\sigma^2} / {m}$"]),
        ("a $$\nx = y\n$$ b", ["$$\nx = y\n$$"]),
        ("costs $5 and $10 today", []),
        ("rose from $5-$10 per ton", []),
        ("between $19,000,000, or about $1,000,000 a year", []),
        ("pay $5 for the formula $x^2$ sheet", ["$x^2$"]),
        ("a price of $4.90, which is low", []),
        ("escaped \\$x\\$ is text", []),
        ("code `$HOME` and `$PATH` is text", []),
        ("a $ lone sign and x$ later", []),
    ],
)
def test_find_math_cases(text, expected):
    spans = _find_math(text, 0, len(text))

    assert [text[start:end] for start, end in sorted(spans)] == expected


def test_money_does_not_block_sentence_cuts():
    text = "It cost $5 at first. " + PARAGRAPH + " Later it cost $10 or more."
    budget = 25

    chunks = split_into_chunks(text, budget)

    assert len(chunks) > 2
    for chunk in chunks[:-1]:
        assert chunk.endswith(". "), chunk


def test_unclosed_dollar_does_not_swallow_text():
    text = "Prices start at $12 for adults. " + " ".join([PARAGRAPH] * 3)
    budget = 30

    chunks = split_into_chunks(text, budget)

    for chunk in chunks[:-1]:
        assert chunk.endswith(". "), chunk


def test_cjk_splits_after_full_stops():
    budget = 40
    assert estimate_tokens(JAPANESE) > budget

    chunks = split_into_chunks(JAPANESE, budget)

    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.endswith("。"), chunk


def test_markdown_headings_start_chunks():
    sections = [f"## Section {number}\n\n{PARAGRAPH}\n\n" for number in range(1, 5)]
    text = "".join(sections)
    budget = estimate_tokens(sections[0]) + 10

    chunks = split_into_chunks(text, budget)

    assert chunks == sections


def test_heading_stays_with_its_text():
    long_paragraph = " ".join([PARAGRAPH] * 3)
    text = f"{PARAGRAPH}\n\n# Aftermath\n\n{long_paragraph}\n"
    budget = estimate_tokens(PARAGRAPH) + 8

    chunks = split_into_chunks(text, budget)

    assert any(chunk.startswith("# Aftermath\n\nThe river") for chunk in chunks)
    for chunk in chunks:
        assert not chunk.rstrip().endswith("# Aftermath"), chunk


def test_consecutive_headings_stay_together():
    long_paragraph = " ".join([PARAGRAPH] * 3)
    text = f"{PARAGRAPH}\n\n# Part one\n\n## Chapter one\n\n{long_paragraph}\n"
    budget = estimate_tokens(PARAGRAPH) + 12

    chunks = split_into_chunks(text, budget)

    assert chunks[1].startswith("# Part one\n\n## Chapter one\n\nThe river")


def test_rst_titles_start_chunks():
    sections = [
        f"=======\nFloods\n=======\n\n{PARAGRAPH}\n\n",
        f".. _records:\n\nRecords\n-------\n\n{PARAGRAPH}\n\n",
        f"Model\n-----\n\n{PARAGRAPH}\n",
    ]
    text = "".join(sections)
    budget = max(estimate_tokens(section) for section in sections) + 5

    chunks = split_into_chunks(text, budget)

    assert chunks == sections


def test_rst_literal_block_is_not_split():
    block = "Run it like this::\n\n    $ flood-model --input levels.csv\n    $ flood-model --plot\n\n"
    text = f"{PARAGRAPH}\n\n{block}{PARAGRAPH}\n"
    start = text.index(block)
    end = start + len(block.rstrip("\n"))
    budget = estimate_tokens(block) + 2

    chunks = split_into_chunks(text, budget)

    assert cuts_inside(chunks, start, end) == []


def test_doctest_block_is_not_split():
    block = ">>> values = [1, 2, 3]\n>>> sum(values) / len(values)\n2.0\n"
    text = f"{PARAGRAPH}\n\n{block}\n{PARAGRAPH}\n"
    start = text.index(block)
    budget = estimate_tokens(block) + 2

    chunks = split_into_chunks(text, budget)

    assert cuts_inside(chunks, start, start + len(block) - 1) == []


def test_single_line_splits_after_sentences():
    text = " ".join([PARAGRAPH] * 20)
    budget = 40

    chunks = split_into_chunks(text, budget)

    assert len(chunks) > 10
    for chunk in chunks[:-1]:
        assert chunk.endswith(". "), chunk


def test_wrapped_prose_prefers_sentence_ends():
    text = textwrap.fill(" ".join([PARAGRAPH] * 2), width=40) + "\n"
    budget = 30

    chunks = split_into_chunks(text, budget)

    assert len(chunks) > 2
    for chunk in chunks[:-1]:
        assert re.search(r"\.\s$", chunk), chunk


def test_long_word_splits_between_tokens():
    text = "x" * 1000
    chunks = split_into_chunks(text, 10)

    assert "".join(chunks) == text
    assert len(chunks) == 25
    for chunk in chunks:
        assert estimate_tokens(chunk) <= 10, chunk


MARKUP_PIECES = [
    "word", "Word", " ", "\n", "\n\n", "\r\n", ". ", "?", "。", "日本", "$", "$$", "`", "```", "~~~",
    "| a | b |\n", "+---+\n", "# ", "## Title\n", "===\n", "---\n", "::", "    ", ">>> ", "$5", "\\",
    "{", "^", ".. _label:\n", ".. code-block:: python\n", "x" * 30,
]


def test_random_markup_rejoins_within_budget():
    generator = random.Random(7)

    for _ in range(500):
        text = "".join(generator.choice(MARKUP_PIECES) for _ in range(generator.randint(0, 100)))
        budget = generator.choice([1, 2, 5, 13, 40])
        chunks = split_into_chunks(text, budget)

        assert "".join(chunks) == text, (text, budget)
        for chunk in chunks:
            assert chunk, (text, budget)
            assert estimate_tokens(chunk) <= budget, (text, budget, chunk)


def test_one_megabyte_is_fast():
    text = (MIXED_DOCUMENT * 700)[:1_000_000]

    started = time.perf_counter()
    chunks = split_into_chunks(text, 256)
    elapsed = time.perf_counter() - started

    assert "".join(chunks) == text
    # Loose on purpose, so that slow machines pass. It catches work that grows
    # quadratically with the length of the text.
    assert elapsed < 10


@pytest.mark.parametrize(("path", "budget"), corpus_params(CORPUS_BUDGETS))
def test_corpus_rejoins_exactly(path, budget):
    text = path.read_text(encoding="utf-8")

    chunks = split_into_chunks(text, budget)

    assert "".join(chunks) == text


@pytest.mark.parametrize(("path", "budget"), corpus_params(CORPUS_BUDGETS))
def test_corpus_budget_holds(path, budget):
    # No unit is exempt from the budget, because a unit over budget is cut
    # down to single estimated tokens if nothing larger fits.
    chunks = split_into_chunks(path.read_text(encoding="utf-8"), budget)

    for chunk in chunks:
        assert estimate_tokens(chunk) <= budget, chunk[:200]


@pytest.mark.parametrize(("path", "budget"), corpus_params(CORPUS_BUDGETS))
def test_corpus_fenced_code_fits_whole(path, budget):
    text = path.read_text(encoding="utf-8")
    blocks = [match.span() for match in re.finditer(r"^```[^\n]*\n.*?^```[ \t]*$", text, re.MULTILINE | re.DOTALL)]

    chunks = split_into_chunks(text, budget)

    for start, end in blocks:
        if estimate_tokens(text[start:end]) <= budget:
            assert cuts_inside(chunks, start, end) == [], text[start:end][:200]


@pytest.mark.parametrize(("path", "budget"), corpus_params(CORPUS_BUDGETS))
def test_corpus_tables_fit_whole(path, budget):
    text = path.read_text(encoding="utf-8")
    # A table starts after a blank line. Table-like lines inside a paragraph,
    # such as the exception group tracebacks in literal blocks, are not tables.
    tables = [
        match.span()
        for match in re.finditer(r"(?:^[ \t]*(?:\||\+[-=])[^\n]*\n)+", text, re.MULTILINE)
        if text.endswith("\n\n", 0, match.start())
    ]

    chunks = split_into_chunks(text, budget)

    for start, end in tables:
        table = text[start:end]
        if estimate_tokens(table) <= budget:
            assert cuts_inside(chunks, start, end - 1) == [], table[:200]


@pytest.mark.parametrize(("path", "budget"), corpus_params(CORPUS_BUDGETS))
def test_corpus_table_rows_stay_whole(path, budget):
    text = path.read_text(encoding="utf-8")
    rows = [match.span() for match in re.finditer(r"^[ \t]*\|[^\n]*", text, re.MULTILINE)]

    chunks = split_into_chunks(text, budget)

    for start, end in rows:
        if estimate_tokens(text[start:end]) <= budget:
            assert cuts_inside(chunks, start, end) == [], text[start:end][:200]


@pytest.mark.skipif(not CORPUS_FILES, reason=CORPUS_MISSING)
@pytest.mark.parametrize("budget", [16, 64, 256])
def test_corpus_math_is_not_cut(budget):
    text = (CORPUS / "stress" / "wikipedia_en__Analysis_of_variance.md").read_text(encoding="utf-8")
    # This article uses `$` only for math, so the signs pair up in order.
    spans = [match.span() for match in re.finditer(r"\$[^$]+\$", text)]
    assert len(spans) > 40

    chunks = split_into_chunks(text, budget)

    for start, end in spans:
        if estimate_tokens(text[start:end]) <= budget:
            assert cuts_inside(chunks, start, end) == [], text[start:end]


@pytest.mark.skipif(not CORPUS_FILES, reason=CORPUS_MISSING)
@pytest.mark.parametrize("budget", [64, 256])
def test_corpus_single_line_cuts_after_sentences(budget):
    text = (CORPUS / "docs" / "sotu__1870_ulysses_s_grant_r.txt").read_text(encoding="utf-8")
    assert "\n" not in text.rstrip("\n")
    sentence_ends = [match.end() for match in re.finditer(r"[.!?][\"')]*\s+", text)]

    chunks = split_into_chunks(text, budget)

    for cut in cut_positions(chunks):
        if cut in sentence_ends:
            continue
        # A cut inside a sentence is allowed only when that sentence alone is over budget.
        index = next(index for index, end in enumerate(sentence_ends) if end > cut)
        sentence = text[sentence_ends[index - 1] if index else 0 : sentence_ends[index]]
        assert estimate_tokens(sentence) > budget, sentence


@pytest.mark.skipif(not CORPUS_FILES, reason=CORPUS_MISSING)
@pytest.mark.parametrize("budget", [64, 256])
def test_corpus_japanese_cuts_after_sentences(budget):
    text = (CORPUS / "stress" / "debian_reference_ja__ch02.ja.md").read_text(encoding="utf-8")
    boundaries = {0, len(text)} | {match.end() for match in re.finditer(r"[。！？][」』）]*|\n", text)}
    # A heading stays with the text after it, so the two form one stretch.
    for heading in re.finditer(r"^#{1,6} [^\n]*\n\s*", text, re.MULTILINE):
        boundaries -= set(range(heading.start() + 1, heading.end() + 1))
    boundaries = sorted(boundaries)

    chunks = split_into_chunks(text, budget)

    cjk_cuts = 0
    for cut in cut_positions(chunks):
        if text[cut - 1] == "\n" or re.search(r"[.!?]\s+$", text[:cut][-4:]):
            continue
        if re.search(r"[。！？][」』）]*[^\S\n]*$", text[:cut][-4:]):
            cjk_cuts += 1
            continue
        # Any other cut must fall in a stretch without a full stop or line break that alone is over budget.
        index = next(index for index, end in enumerate(boundaries) if end > cut)
        stretch = text[boundaries[index - 1] : boundaries[index]]
        assert estimate_tokens(stretch) > budget, stretch
    assert cjk_cuts > 0


@pytest.mark.parametrize(("path", "budget"), corpus_params([256, 1024]))
def test_corpus_no_chunk_ends_with_heading(path, budget):
    chunks = split_into_chunks(path.read_text(encoding="utf-8"), budget)

    for chunk in chunks[:-1]:
        last_line = chunk.rstrip().rsplit("\n", 1)[-1]
        assert not re.match(r"#{1,6} ", last_line), last_line


@pytest.mark.skipif(not CORPUS_FILES, reason=CORPUS_MISSING)
def test_corpus_sections_start_chunks():
    text = (CORPUS / "stress" / "wikipedia_en__Analysis_of_variance.md").read_text(encoding="utf-8")

    chunks = split_into_chunks(text, 1024)

    assert len(chunks) > 10
    for chunk in chunks:
        assert chunk.startswith("#"), chunk[:80]
