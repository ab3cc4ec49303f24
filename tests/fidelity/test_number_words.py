import pytest

from polyphrase.fidelity.number_words import WordNumber, ordinal_word_value, parse_number_words


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("seven", 7),
        ("twenty-one", 21),
        ("twenty one", 21),
        ("a hundred", 100),
        ("a dozen", 12),
        ("two dozen", 24),
        ("two hundred and fifty", 250),
        ("one hundred thousand", 100_000),
        ("seven million", 7_000_000),
        ("one million two hundred thousand", 1_200_000),
        ("Seven Million", 7_000_000),
    ],
)
def test_parse_single_number(words: str, value: int) -> None:
    numbers = parse_number_words(words)
    assert [number.value for number in numbers] == [value]


def test_parse_scale_flag() -> None:
    assert parse_number_words("seven")[0].has_scale is False
    assert parse_number_words("seven million")[0].has_scale is True
    assert parse_number_words("a dozen")[0].has_scale is True


def test_parse_splits_sequence() -> None:
    assert parse_number_words("one two three") == [
        WordNumber(1, 0, 3, False),
        WordNumber(2, 4, 7, False),
        WordNumber(3, 8, 13, False),
    ]


def test_parse_splits_at_and() -> None:
    assert [number.value for number in parse_number_words("five and six")] == [5, 6]


def test_parse_span_offset() -> None:
    assert parse_number_words("twenty-one", offset=10) == [WordNumber(21, 10, 20, False)]


@pytest.mark.parametrize(
    ("words", "value"),
    [("first", 1), ("third", 3), ("twelfth", 12), ("twentieth", 20), ("twenty-first", 21), ("Ninety Ninth", 99)],
)
def test_ordinal_word_value(words: str, value: int) -> None:
    assert ordinal_word_value(words) == value
