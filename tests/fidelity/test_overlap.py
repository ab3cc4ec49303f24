import pytest

from polyphrase.fidelity.overlap import CopyCheck, check_copy, is_looping, ngram_overlap, pairwise_overlap, repeated_share, tokenize


def test_tokenize_words() -> None:
    assert tokenize("The cat's HAT, don’t—ＡＢＣ 42!") == ["the", "cat's", "hat", "don't", "abc", "42"]


def test_tokenize_cjk_characters() -> None:
    assert tokenize("日本語のテキスト") == ["日", "本", "語", "の", "テ", "キ", "ス", "ト"]


def test_tokenize_mixed_scripts() -> None:
    assert tokenize("Debian は便利") == ["debian", "は", "便", "利"]


def test_tokenize_combining_marks() -> None:
    assert tokenize("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_overlap_identical() -> None:
    assert ngram_overlap("the cat sat on the mat", "the cat sat on the mat") == 1.0


def test_overlap_disjoint() -> None:
    assert ngram_overlap("the cat sat on the mat", "a dog lay under a table") == 0.0


def test_overlap_partial() -> None:
    # Rewrite 4-grams: "the cat sat on" (found), "cat sat on a", "sat on a mat".
    assert ngram_overlap("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(1 / 3)


def test_overlap_ignores_case_and_punctuation() -> None:
    assert ngram_overlap("The cat, sat on the mat.", "the CAT sat -- on the mat") == 1.0


def test_overlap_counts_repeats() -> None:
    # Rewrite bigrams: (a b) twice, both found, and (b a) once, not found.
    assert ngram_overlap("a b", "a b a b", n=2) == pytest.approx(2 / 3)


def test_overlap_not_symmetric() -> None:
    long_source = "the cat sat on the mat and then it slept all day long"
    assert ngram_overlap(long_source, "the cat sat on the mat") == 1.0
    # 13 tokens give ten 4-grams, and the three from "the cat sat on the mat" are found.
    assert ngram_overlap("the cat sat on the mat", long_source) == pytest.approx(3 / 10)


def test_overlap_short_rewrite() -> None:
    assert ngram_overlap("the cat sat on the mat", "the cat sat") == 0.0


def test_overlap_empty_rewrite() -> None:
    assert ngram_overlap("the cat sat on the mat", "") == 0.0


def test_overlap_cjk_character_ngrams() -> None:
    # Rewrite character 4-grams: 日本語の (found), 本語のテ, 語のテキ, のテキス, テキスト (found).
    assert ngram_overlap("日本語の本とテキスト", "日本語のテキスト") == pytest.approx(2 / 5)


def test_overlap_invalid_n() -> None:
    with pytest.raises(ValueError, match="n must be at least 1"):
        ngram_overlap("a b", "a b", n=0)


def test_check_copy_too_close() -> None:
    result = check_copy("the cat sat on the mat", "the cat sat on the mat")
    assert result == CopyCheck(too_close=True, overlap=1.0, max_overlap=0.5)


def test_check_copy_paraphrase() -> None:
    result = check_copy("the cat sat on the mat", "a cat was sitting on a rug")
    assert result.too_close is False
    assert result.overlap == 0.0


def test_check_copy_equal_threshold_passes() -> None:
    result = check_copy("a b c d", "a b c d x y z w", max_overlap=0.2)
    assert result.overlap == pytest.approx(0.2)
    assert result.too_close is False


def test_check_copy_custom_n() -> None:
    result = check_copy("the cat sat", "the cat ran", max_overlap=0.4, n=2)
    assert result.overlap == pytest.approx(0.5)
    assert result.too_close is True


def test_check_copy_invalid_threshold() -> None:
    with pytest.raises(ValueError, match="max_overlap must be between 0 and 1"):
        check_copy("a", "a", max_overlap=1.5)


def test_pairwise_jaccard() -> None:
    # Bigrams {ab, bc, cd} and {ab, bc, ce}: 2 shared out of 4.
    assert pairwise_overlap("a b c d", "a b c e", n=2) == pytest.approx(0.5)


def test_pairwise_symmetric() -> None:
    first = "the cat sat on the mat today"
    second = "yesterday the cat sat on the mat"
    assert pairwise_overlap(first, second) == pairwise_overlap(second, first)


def test_pairwise_identical() -> None:
    assert pairwise_overlap("the cat sat on the mat", "The cat sat on the mat!") == 1.0


def test_pairwise_no_ngrams() -> None:
    assert pairwise_overlap("", "") == 0.0


def test_repeated_share_counts_repeats_of_earlier_ngrams() -> None:
    # 18 tokens give 15 4-grams; "it can be used" and "can be used in" each come back twice.
    text = "It can be used in A. It can be used in B. It can be used in C."
    assert repeated_share(text) == pytest.approx(4 / 15)
    assert repeated_share("A bit holds one of two values.") == 0.0
    assert repeated_share("too short") == 0.0


def test_is_looping_compares_with_the_source() -> None:
    looping = "It can be used in A. It can be used in B. It can be used in C."
    assert is_looping("A tool with three uses: A, B and C.", looping)
    # A source that repeats itself as much allows the same in its rewrite.
    assert not is_looping(looping, looping)
    assert not is_looping("Any source.", "A bit holds one of two values, 0 or 1.")
