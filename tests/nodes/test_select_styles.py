import asyncio
from types import SimpleNamespace

from polyphrase.graph.context import Context
from polyphrase.nodes.select_styles import select_styles


def _select(doc_id: str, text: str, **options) -> dict:
    context = Context(rewriter=None, verifier=None, **options)
    state = {"doc_id": doc_id, "text": text, "chunks": ["a", "b"]}
    return asyncio.run(select_styles(state, SimpleNamespace(context=context)))


def test_select_styles_starts_one_track_per_style():
    update = _select("doc-1", "Plain prose.")
    assert len(update["styles"]) == 2
    assert set(update["tracks"]) == set(update["styles"])
    assert update["tracks"][update["styles"][0]].pending == [0, 1]


def test_select_styles_reproducible():
    assert _select("doc-9", "Prose.")["styles"] == _select("doc-9", "Prose.")["styles"]


def test_select_styles_named_styles_win():
    assert _select("doc-1", "Prose.", style_names=("terse-expert",))["styles"] == ["terse-expert"]


def test_select_styles_math_document():
    text = "Let $a^2$ and $b^2$ and $c^2$ satisfy $a^2+b^2=c^2$."
    assert _select("doc-3", text)["styles"][0] == "learning-notes"
