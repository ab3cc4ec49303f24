import pytest

from polyphrase.fidelity.echo import find_echoes

SOURCE = "CHAPTER 120. The Deck Towards the End of the First Night Watch.\n\n\"Sir!—in God's name!—sir?\""


@pytest.mark.parametrize(
    ("rewrite", "expected"),
    [
        ("Q: What is God?\nA: God is mentioned in the text.", ["A: God is mentioned in the text."]),
        ("Q: What is the quantity '120'?\nA: It is chapter 120.", ["Q: What is the quantity '120'?"]),
        ("**Style:** reviewer-voice\n\nThe mate asks.", ["Style:** reviewer-voice"]),
        ("**Rewritten passage in the style above, keeping every fact and placeholder:**\nThe mate asks.",
         ["Rewritten passage in the style above, keeping every fact and placeholder:"]),
        ("Rewrite:\nThe mate asks.", ["Rewrite:"]),
        ("The original text names God, as the source does.", ["The original text names God, as the source does."]),
    ],
)
def test_echo_found(rewrite: str, expected: list[str]) -> None:
    assert find_echoes(SOURCE, rewrite) == expected


@pytest.mark.parametrize(
    "rewrite",
    [
        "In chapter 120 a mate begs Ahab, in God's name, to take in the sails.",
        "The style of the ship's rigging is old.",
        "A rewrite of the rules was given in 1990.",
        "Names are listed in the register.",
    ],
)
def test_plain_rewrite_has_no_echo(rewrite: str) -> None:
    assert find_echoes(SOURCE, rewrite) == []


def test_echo_that_the_source_has_is_allowed() -> None:
    source = "Style: casual.\nThe date is stated in the text of the treaty."
    rewrite = "Style: casual.\nThe treaty's date is stated in the text."
    assert find_echoes(source, rewrite) == []
