from polyphrase.nodes.stitch import stitch


def test_stitch_keeps_chunk_separators():
    chunks = ["First part.\n\n", "Second part. ", "Third."]
    assert stitch(chunks, ["One", "Two", "Three"]) == "One\n\nTwo Three"


def test_stitch_restores_code_and_math():
    chunks = ["Run this:\n```sh\nls -l\n```\nwith $x^2$ rows.\n"]
    rewrite = "Execute ⟦CODE1⟧ over ⟦MATH2⟧ rows."
    assert stitch(chunks, [rewrite]) == "Execute ```sh\nls -l\n``` over $x^2$ rows.\n"


def test_stitch_uses_source_for_missing_rewrite():
    assert stitch(["A.\n", "B.\n"], ["Alpha.", None]) == "Alpha.\nB.\n"
