from polyphrase.nodes.rewrite import clean_rewrite


def test_clean_rewrite_strips_preamble():
    assert clean_rewrite("Here is the rewritten passage:\nThe tower is tall.") == "The tower is tall."


def test_clean_rewrite_strips_wrapper_tags():
    assert clean_rewrite("<rewrite>\nThe tower is tall.\n</rewrite>") == "The tower is tall."


def test_clean_rewrite_keeps_plain_text():
    assert clean_rewrite("  Sure enough, it rained.  ") == "Sure enough, it rained."


def test_clean_rewrite_unescapes_own_tags():
    assert clean_rewrite("Quote: &lt;source&gt;") == "Quote: <source&gt;"


def test_clean_rewrite_strips_echoed_blocks():
    echoed = "<keep>\n7; 1995-03-20; RISC OS\n</keep>\n<feedback>1. Keep it.</feedback>\nThe scheduler yields. (1995-03-20)"
    assert clean_rewrite(echoed) == "The scheduler yields. (1995-03-20)"
    assert clean_rewrite("<keep>two; 1995-12-14</keep>\n\nnot (x and y)") == "not (x and y)"
    # A tag inside the text is content, not an echo.
    assert clean_rewrite("Use the <keep> tag here.") == "Use the <keep> tag here."
