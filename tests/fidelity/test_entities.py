import pytest

from polyphrase.fidelity.entities import check_entities, extract_entities

APOLLO = (
    "Apollo 11 was the first crewed landing on the Moon. Americans Neil Armstrong and "
    "Buzz Aldrin landed in the Sea of Tranquility on a Sunday in July. Armstrong stepped "
    "out first, and NASA broadcast it to the United States. The U.S. President John F. "
    "Kennedy had set the goal before World War II veterans in Congress."
)


def test_extract_full_list() -> None:
    # "Americans" starts its sentence and never appears in lower case, so it stays.
    assert extract_entities(APOLLO) == [
        "Moon",
        "Americans Neil Armstrong",
        "Buzz Aldrin",
        "Sea of Tranquility",
        "Armstrong",
        "NASA",
        "United States",
        "U.S.",
        "President John F. Kennedy",
        "World War II",
        "Congress",
    ]


def test_extract_multi_word_names() -> None:
    names = extract_entities(APOLLO)
    assert "Buzz Aldrin" in names
    assert "Sea of Tranquility" in names
    assert "United States" in names
    assert "World War II" in names


def test_extract_initials_in_name() -> None:
    assert "President John F. Kennedy" in extract_entities(APOLLO)


def test_extract_acronyms() -> None:
    names = extract_entities(APOLLO)
    assert "NASA" in names
    assert "U.S." in names


def test_extract_skips_function_words() -> None:
    names = extract_entities(APOLLO)
    assert "The" not in names
    assert "Sunday" not in names
    assert "July" not in names


def test_extract_sentence_start_word() -> None:
    assert extract_entities("Armstrong stepped out. Then he waved.") == []


def test_extract_sentence_start_confirmed() -> None:
    names = extract_entities("Armstrong stepped out. Later, the crowd cheered for Armstrong.")
    assert names == ["Armstrong"]


def test_extract_drops_lowercase_first_word() -> None:
    names = extract_entities("Yesterday Armstrong stepped out, as he did yesterday.")
    assert names == ["Armstrong"]


def test_extract_after_initial_not_sentence() -> None:
    assert extract_entities("They met George M. Low there.") == ["George M. Low"]


def test_extract_possessive_and_attributive() -> None:
    names = extract_entities("It was NASA's plan, a Chicago-based idea.")
    assert names == ["NASA", "Chicago"]


def test_extract_possessive_ends_name() -> None:
    assert extract_entities("He was Egypt's Prime Minister.") == ["Egypt", "Prime Minister"]


def test_extract_unique_case_insensitive() -> None:
    assert extract_entities("We saw the Moon. Later the MOON rose, and the Moon set.") == ["Moon"]


def test_extract_skips_upper_case_heading() -> None:
    assert extract_entities("CHAPTER ONE LOOMINGS\n\nCall me Ishmael.") == ["Ishmael"]


@pytest.mark.parametrize(
    ("source", "rewrite"),
    [
        ("They met Neil Armstrong there.", "They met Armstrong there."),
        ("They met Neil Armstrong there.", "They met neil armstrong there."),
        ("He flew for NASA in May.", "He flew for the National Aeronautics and Space Administration."),
        ("He flew for the National Aeronautics and Space Administration.", "He flew for NASA."),
        ("She moved to the United States.", "She moved to the US."),
        ("The town is near Zürich.", "The town is near Zurich."),
        ("They saw the Moon.", "They saw the moon."),
        ("They met the Americans there.", "They met an American there."),
        ("She sang for President Reagan.", "She sang for Reagan."),
        ("They met John F. Kennedy.", "They met John F Kennedy."),
        ("He lived in Australia.", "He was Australian."),
        ("He converted to Christianity.", "He became a Christian."),
        ("They cited W.H.Harvey's work.", "They cited W.H.Harvey's work."),
    ],
)
def test_check_kept_forms(source: str, rewrite: str) -> None:
    result = check_entities(source, rewrite)
    assert result.missing == []
    assert result.added == []
    assert result.ok


def test_check_missing_name() -> None:
    result = check_entities("They met Buzz Aldrin in Houston.", "They met him in Houston.")
    assert result.missing == ["Buzz Aldrin"]
    assert result.added == []


def test_check_added_name() -> None:
    result = check_entities("They met him in Houston.", "They met Buzz Aldrin in Houston.")
    assert result.missing == []
    assert result.added == ["Buzz Aldrin"]


def test_check_changed_name() -> None:
    result = check_entities("The flight left from Florida.", "The flight left from Texas.")
    assert result.missing == ["Florida"]
    assert result.added == ["Texas"]


def test_check_short_acronym_case() -> None:
    result = check_entities("He moved to the US.", "He moved with us.")
    assert result.missing == ["US"]


def test_check_acronym_next_to_digits() -> None:
    result = check_entities("It uses 7MB of memory.", "It uses 7 MB of memory.")
    assert result.ok


def test_check_faithful_paraphrase() -> None:
    rewrite = (
        "In July, on a Sunday, Neil Armstrong and Buzz Aldrin of Apollo 11 became the first "
        "people to land on the moon, in the Sea of Tranquility. NASA showed Armstrong's first "
        "steps to the US. President Kennedy had set this goal before Congress, speaking to "
        "veterans of World War II."
    )
    result = check_entities(APOLLO, rewrite)
    assert result.missing == []
    assert result.added == []


def test_pronoun_contractions_not_names():
    source = '"Strike nothing. If I had poles, I\'d sway them up now," said Ahab.'
    assert check_entities(source, "Ahab refused to strike anything.").missing == []


def test_name_wrapped_across_lines_is_one_name() -> None:
    text = "It is used in {RISC OS}, {Microsoft\n   Windows} and {Macintosh}."
    assert "Microsoft Windows" in extract_entities(text)
    assert check_entities(text, "It runs on RISC OS, Windows and the Macintosh.").missing == []


def test_title_case_heading_gives_no_names() -> None:
    text = "CHAPTER 120. The Deck Towards the End of the First Night Watch. Ahab\n\n\"Sir!—in God's name!—sir?\""
    assert extract_entities(text) == ["God"]


def test_title_case_line_inside_paragraph_gives_names() -> None:
    text = "Cooperative multitasking is used in RISC OS and\nWindows and Macintosh System 7."
    assert "Macintosh System" in extract_entities(text)
