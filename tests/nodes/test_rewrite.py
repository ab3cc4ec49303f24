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
    echoed = "<previous_rewrite>\nThe task yields.\n</previous_rewrite>\n<feedback>1. Keep it.</feedback>\nThe scheduler yields. (1995-03-20)"
    assert clean_rewrite(echoed) == "The scheduler yields. (1995-03-20)"
    assert clean_rewrite("<feedback>two; 1995-12-14</feedback>\n\nnot (x and y)") == "not (x and y)"
    assert clean_rewrite("Certainly.\n\nThe scheduler yields.") == "The scheduler yields."
    # A tag inside the text is content, not an echo.
    assert clean_rewrite("Use the <feedback> tag here.") == "Use the <feedback> tag here."
