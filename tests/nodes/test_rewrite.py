from polyphrase.nodes.rewrite import clean_rewrite


def test_clean_rewrite_strips_preamble():
    assert clean_rewrite("Here is the rewritten passage:\nThe tower is tall.") == "The tower is tall."


def test_clean_rewrite_strips_wrapper_tags():
    assert clean_rewrite("<rewrite>\nThe tower is tall.\n</rewrite>") == "The tower is tall."


def test_clean_rewrite_keeps_plain_text():
    assert clean_rewrite("  Sure enough, it rained.  ") == "Sure enough, it rained."


def test_clean_rewrite_unescapes_own_tags():
    assert clean_rewrite("Quote: &lt;source&gt;") == "Quote: <source&gt;"
