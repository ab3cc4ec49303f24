import pytest

from polyphrase.tokens import estimate_tokens


def test_empty_text_is_zero():
    assert estimate_tokens("") == 0


def test_whitespace_is_free():
    assert estimate_tokens(" \t\r\n\u3000") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", 1),
        ("abcd", 1),
        ("abcde", 2),
        ("abcdefgh", 2),
        ("Straße", 2),
        ("one two three", 4),
    ],
)
def test_letters_four_per_token(text, expected):
    assert estimate_tokens(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("7", 1), ("123", 1), ("1234", 2), ("1234567", 3)])
def test_digits_three_per_token(text, expected):
    assert estimate_tokens(text) == expected


@pytest.mark.parametrize(("text", "expected"), [(",", 1), ("!?", 2), ("a_b", 3), ("🙂", 1), ("(x)", 3)])
def test_symbols_one_each(text, expected):
    assert estimate_tokens(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("--", 1), ("-" * 8, 1), ("-" * 9, 2), ("+----+", 3), ("-=", 2)])
def test_repeated_symbol_eight_per_token(text, expected):
    assert estimate_tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("日本語", 3), ("ひらがな", 4), ("カタカナ", 4), ("한국어", 3), ("中文。", 3), ("１２", 2)],
)
def test_cjk_one_per_character(text, expected):
    assert estimate_tokens(text) == expected


def test_mixed_text():
    # Hello(2) ,(1) world(2) !(1) 42(1) 日本(2)
    assert estimate_tokens("Hello, world! 42 日本") == 9


@pytest.mark.parametrize(
    ("left", "right"),
    [("abc", "def"), ("12", "345"), ("--", "---"), ("日本", "語"), ("word ", "word"), ("a.", " B")],
)
def test_concatenation_never_exceeds_sum(left, right):
    assert estimate_tokens(left + right) <= estimate_tokens(left) + estimate_tokens(right)


def test_concatenation_at_space_is_additive():
    assert estimate_tokens("alpha beta") == estimate_tokens("alpha ") + estimate_tokens("beta")
