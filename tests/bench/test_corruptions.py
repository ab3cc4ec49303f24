import re
from pathlib import Path
from random import Random

import pytest

from bench.corruptions import (
    CORRUPTION_TYPES,
    Corrupter,
    CorruptionPair,
    Donors,
    Paragraph,
    find_names,
    load_paragraphs,
    make_corruptions,
    rewrite_faithfully,
    split_sentences,
)
from polyphrase.fidelity import check_entities, check_numbers
from tests.bench.conftest import DOCUMENTS

_NEGATION = re.compile(r"\bnot\b|n't\b|\bcannot\b")

TOWER = DOCUMENTS["tower.txt"][0]


def _corrupter(seed: int = 0) -> Corrupter:
    paragraphs = [Paragraph(name, text) for name, texts in DOCUMENTS.items() for text in texts]
    return Corrupter(Random(seed), Donors.collect(paragraphs))


def test_split_keeps_abbreviations():
    text = "Dr. Smith met J. R. Brown in the U.S. Army. They spoke at 9 a.m. Monday. It rained."
    assert split_sentences(text) == ["Dr. Smith met J. R. Brown in the U.S. Army.", "They spoke at 9 a.m. Monday.", "It rained."]


def test_split_rejoins_to_text():
    assert " ".join(split_sentences(TOWER)) == TOWER


def test_load_keeps_only_prose(corpus_dir: Path):
    paragraphs = load_paragraphs(corpus_dir)

    assert len(paragraphs) == 6
    assert {paragraph.document for paragraph in paragraphs} == set(DOCUMENTS)
    for paragraph in paragraphs:
        assert "heading" not in paragraph.text
        assert "compute" not in paragraph.text


def test_load_joins_wrapped_lines(tmp_path: Path):
    wrapped = TOWER.replace(" the ", "\n   the ")
    (tmp_path / "wrapped.txt").write_text(wrapped + "\n")

    assert load_paragraphs(tmp_path) == [Paragraph("wrapped.txt", TOWER)]


def test_load_cuts_long_text_into_windows(tmp_path: Path):
    sentences = [f"Sentence number {index} of this long line talks about the weather in Paris." for index in range(60)]
    (tmp_path / "long.txt").write_text(" ".join(sentences))

    paragraphs = load_paragraphs(tmp_path)
    assert len(paragraphs) > 1
    for paragraph in paragraphs:
        assert 200 <= len(paragraph.text) <= 1200
        assert paragraph.text.endswith(".")
    assert " ".join(paragraph.text for paragraph in paragraphs) == " ".join(sentences)


def test_load_skips_markup(tmp_path: Path):
    table = "| a | b |\n| 1 | 2 |"
    rst = TOWER + " See :ref:`towers` for more."
    (tmp_path / "markup.md").write_text(f"{table}\n\n{rst}\n\n- {TOWER}\n")

    assert load_paragraphs(tmp_path) == []


def test_faithful_rewrite_reformats_quantities():
    text = "About 7,000,000 people climbed the 330 metres of the tower. Approximately 50 per cent were tourists."
    rewritten = rewrite_faithfully(text, Random(0))

    assert rewritten is not None
    assert "7 million" in rewritten
    assert "330 m " in rewritten
    assert "about 50%" in rewritten.lower()
    assert check_numbers(text, rewritten).ok


def test_faithful_rewrite_none_when_unchanged():
    assert rewrite_faithfully("It rained. Then it stopped.", Random(0)) is None


def test_faithful_rewrite_moves_no_dependent_sentence():
    text = "Paris has a tower. It is tall. Then it rained."
    assert rewrite_faithfully(text, Random(0)) is None


def test_find_names_skips_sentence_starts():
    text = "The crew met Neil Armstrong in Houston. Later Buzz Aldrin arrived in July."
    assert find_names(text) == ["Neil Armstrong", "Houston"]


def test_number_change_detected():
    change = _corrupter().change_number(TOWER)

    assert change is not None
    assert change.text != TOWER
    assert not check_numbers(TOWER, change.text).ok


def test_number_change_skips_years_and_days():
    text = "The crew landed on July 20, 1969, and left in 1970."
    assert _corrupter().change_number(text) is None


def test_date_change_detected():
    change = _corrupter().change_date(TOWER)

    assert change is not None
    before, after = change.description.split(" -> ")
    assert before in ("1887", "1889")
    assert after not in TOWER
    assert not check_numbers(TOWER, change.text).ok


def test_date_change_moves_month():
    text = "The crew landed on July 20 and flew home later that week."
    change = _corrupter().change_date(text)

    assert change is not None
    assert "July" not in change.text
    assert not check_numbers(text, change.text).ok


def test_entity_swap_detected():
    text = DOCUMENTS["moon.txt"][0]
    change = _corrupter().swap_entity(text, "moon.txt")

    assert change is not None
    name, replacement = change.description.split(" -> ")
    assert name not in change.text
    assert replacement in change.text
    assert name in check_entities(text, change.text).missing


def test_entity_swap_needs_another_document():
    corrupter = Corrupter(Random(0), Donors.collect([Paragraph("tower.txt", TOWER)]))
    assert corrupter.swap_entity(TOWER, "tower.txt") is None


def test_dropped_sentence_removed():
    change = _corrupter().drop_sentence(TOWER)

    assert change is not None
    before, after = split_sentences(TOWER), split_sentences(change.text)
    assert len(after) == len(before) - 1
    assert set(after) < set(before)
    assert after[0] == before[0]


def test_added_claim_from_other_document():
    change = _corrupter().add_claim(TOWER, "tower.txt")

    assert change is not None
    before, after = split_sentences(TOWER), split_sentences(change.text)
    assert len(after) == len(before) + 1
    assert set(before) < set(after)
    (added,) = set(after) - set(before)
    assert not any(added in text for text in DOCUMENTS["tower.txt"])
    assert after[0] == before[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The river was not listed until 1991 by the agency.", "The river was listed until 1991 by the agency."),
        ("The crew didn't bring back any samples from it.", "The crew did bring back any samples from it."),
        ("The rocket can lift a heavy load.", "The rocket cannot lift a heavy load."),
    ],
)
def test_negation_flips(text: str, expected: str):
    change = _corrupter().negate(text)

    assert change is not None
    assert change.text == expected


def test_negation_none_without_verb():
    assert _corrupter().negate("Paris, a city of bridges and towers by a river.") is None


def _changed_as_intended(pair: CorruptionPair) -> bool:
    before, after = split_sentences(pair.faithful), split_sentences(pair.corrupted)
    if pair.corruption in ("number", "date"):
        return not check_numbers(pair.faithful, pair.corrupted).ok
    if pair.corruption == "entity":
        return bool(check_entities(pair.faithful, pair.corrupted).missing)
    if pair.corruption == "dropped_sentence":
        return len(after) == len(before) - 1 and set(after) < set(before)
    if pair.corruption == "added_claim":
        return len(after) == len(before) + 1 and set(before) < set(after)
    return len(_NEGATION.findall(pair.faithful)) != len(_NEGATION.findall(pair.corrupted))


def test_make_corruptions_covers_every_type(corpus_dir: Path):
    pairs = make_corruptions(corpus_dir, 6, seed=0)

    assert sorted(pair.corruption for pair in pairs) == sorted(CORRUPTION_TYPES)
    for pair in pairs:
        assert pair.faithful != pair.source, pair
        assert pair.corrupted != pair.faithful, pair
        assert _changed_as_intended(pair), pair


def test_faithful_pairs_pass_guards(corpus_dir: Path):
    for pair in make_corruptions(corpus_dir, 6, seed=3):
        assert check_numbers(pair.source, pair.faithful).ok, pair
        assert check_entities(pair.source, pair.faithful).missing == [], pair


def test_make_corruptions_reproducible(corpus_dir: Path):
    assert make_corruptions(corpus_dir, 6, seed=5) == make_corruptions(corpus_dir, 6, seed=5)


def test_make_corruptions_stops_at_corpus_size(corpus_dir: Path):
    assert len(make_corruptions(corpus_dir, 50, seed=0)) == 6
