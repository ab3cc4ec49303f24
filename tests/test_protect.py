from polyphrase.protect import is_protected_only, mask_protected, missing_placeholders, split_end_matter, unmask


def test_mask_round_trip():
    text = "Let $a+b$ hold.\n$$\\sum_i x_i$$\n```py\nprint(1)\n```\n"
    masked, spans = mask_protected(text)
    assert "$" not in masked
    assert "print" not in masked
    assert unmask(masked, spans) == text


def test_mask_leaves_money_alone():
    masked, spans = mask_protected("It cost $5 and then $10, or $1.5 million.")
    assert spans == {}
    assert masked == "It cost $5 and then $10, or $1.5 million."


def test_missing_placeholders_listed():
    _, spans = mask_protected("Use $x$ and $y$.")
    assert missing_placeholders("Use ⟦MATH1⟧ only.", spans) == ["⟦MATH2⟧"]


def test_protected_only_chunk():
    masked, _ = mask_protected("```\ncode\n```\n")
    assert is_protected_only(masked)


def test_end_matter_stamps_and_references():
    entry = "bit\n\n   The unit of information.\n\n   [{Jargon File}]\n\n   (2002-01-22)\n"
    assert split_end_matter(entry) == ("bit\n\n   The unit of information.", ["[{Jargon File}]", "(2002-01-22)"])
    assert split_end_matter("Text.\n(1995-03-20)\n[1996]\n\n") == ("Text.", ["(1995-03-20)", "[1996]"])


def test_end_matter_leaves_prose():
    cases = [
        "It appeared in 1949.\n(1995-03-20) was a Monday.",
        "(1995-03-20)\nText follows.",
        "Text.\n[a note that runs on] and continues.",
        "Text ends (or both).",
    ]
    for text in cases:
        assert split_end_matter(text) == (text, [])


def test_end_matter_only_chunk():
    assert split_end_matter("\n  (1995-12-14)\n") == ("", ["(1995-12-14)"])


FOLDOC_ENTRY = (
    "DeMorgan's theorem\n\n"
    "   A logical theorem about complements.  In symbols:\n\n"
    "    not (x and y) = (not x) or (not y)\n"
    "    not (x or y)  = (not x) and (not y)\n\n"
    "   A programmer might use this to re-write\n\n"
    "    if (!foo && !bar) ...\n"
    "   as\n"
    "    if (!(foo || bar)) ...\n\n"
    "   thus saving one operator application.\n"
)


def test_indented_code_in_plain_text_masked():
    masked, spans = mask_protected(FOLDOC_ENTRY)
    assert list(spans.values()) == [
        "    not (x and y) = (not x) or (not y)\n    not (x or y)  = (not x) and (not y)",
        "    if (!foo && !bar) ...",
        "    if (!(foo || bar)) ...",
    ]
    assert "   as\n⟦CODE3⟧\n" in masked
    assert unmask(masked, spans) == FOLDOC_ENTRY


def test_markdown_indented_code_block_masked():
    text = "Install it:\n\n    pip install polyphrase\n    polyphrase --help\n\nThen run it.\n"
    masked, spans = mask_protected(text)
    assert masked == "Install it:\n\n⟦CODE1⟧\n\nThen run it.\n"
    assert spans == {"⟦CODE1⟧": "    pip install polyphrase\n    polyphrase --help"}


def test_indented_prose_not_masked():
    cases = [
        # A list item's continuation, even with a link in it.
        "* See the [Debian\n  Handbook](https://www.debian.org/doc/).\n* Next item.\n",
        # The body of an RST note.
        "Text.\n\n.. note::\n\n    Be very careful and do not use this (ever) in production.\n",
        # A paragraph indented a little deeper, with no code symbol on every line.
        "First paragraph here.\n\n  An indented paragraph\n  of plain prose.\n\nLast one.\n",
    ]
    for text in cases:
        assert mask_protected(text) == (text, {})


def test_rst_code_directive_body_masked():
    text = "Example.\n\n.. code-block:: python\n\n    print(1)\n"
    masked, spans = mask_protected(text)
    assert spans == {"⟦CODE1⟧": "    print(1)"}
