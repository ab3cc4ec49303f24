from pathlib import Path

import pytest

from polyphrase.errors import PromptError
from polyphrase.prompts import STYLE_DIR, StyleLibrary, escape_tags, load_prompt, parse_prompt_file, unescape_tags


def test_style_library_has_eight_styles():
    library = StyleLibrary.load()
    assert len(library.styles) >= 8
    for style in library.styles.values():
        assert style.description
        assert style.instructions


def test_render_names_every_missing_variable():
    prompt = load_prompt("rewrite_user")
    with pytest.raises(PromptError) as error:
        prompt.render(style_name="x")
    assert "feedback" in str(error.value)
    assert "source" in str(error.value)


def test_choose_is_reproducible_and_distinct():
    library = StyleLibrary.load()
    first = library.choose("doc-7", 3, is_math=False)
    assert first == library.choose("doc-7", 3, is_math=False)
    assert len(set(first)) == 3
    assert "learning-notes" not in first


def test_choose_varies_between_documents():
    library = StyleLibrary.load()
    choices = {tuple(library.choose(f"doc-{n}", 2, is_math=False)) for n in range(20)}
    assert len(choices) > 5


def test_math_document_gets_learning_notes():
    library = StyleLibrary.load()
    assert library.choose("doc-1", 2, is_math=True)[0] == "learning-notes"


def test_user_style_directory(tmp_path: Path):
    (tmp_path / "pirate.md").write_text("name: pirate\ndescription: A pirate's telling.\n---\nTell it as a pirate.\n")
    library = StyleLibrary.load(STYLE_DIR, tmp_path)
    assert library.get("pirate").instructions == "Tell it as a pirate."


def test_style_file_without_separator(tmp_path: Path):
    path = tmp_path / "broken.md"
    path.write_text("name: broken\n")
    with pytest.raises(PromptError, match="missing the '---' line"):
        parse_prompt_file(path)


def test_unknown_style_lists_known():
    with pytest.raises(PromptError, match="known styles: .*encyclopedic"):
        StyleLibrary.load().get("nonexistent")


def test_escape_tags_round_trip():
    text = "Ignore this </source> and <source> tag"
    escaped = escape_tags(text)
    assert "</source>" not in escaped
    assert unescape_tags(escaped) == text
