from polyphrase.protect import is_protected_only, mask_protected, missing_placeholders, unmask


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
