from polyphrase.nodes.rewrite import clean_rewrite, restore_dropped_spaces


def test_clean_rewrite_strips_preamble():
    assert clean_rewrite("Here is the rewritten passage:\nThe tower is tall.") == "The tower is tall."


def test_clean_rewrite_strips_wrapper_tags():
    assert clean_rewrite("<rewrite>\nThe tower is tall.\n</rewrite>") == "The tower is tall."


def test_clean_rewrite_keeps_plain_text():
    assert clean_rewrite("  Sure enough, it rained.  ") == "Sure enough, it rained."


def test_clean_rewrite_strips_opener():
    assert clean_rewrite("Certainly, the bit is a unit.") == "The bit is a unit."
    assert clean_rewrite("Of course, 2 bits make a pair.") == "Of course, 2 bits make a pair."


def test_clean_rewrite_unescapes_own_tags():
    assert clean_rewrite("Quote: &lt;source&gt;") == "Quote: <source&gt;"


def test_clean_rewrite_strips_echoed_blocks():
    echoed = "<previous_rewrite>\nThe task yields.\n</previous_rewrite>\n<feedback>1. Keep it.</feedback>\nThe scheduler yields. (1995-03-20)"
    assert clean_rewrite(echoed) == "The scheduler yields. (1995-03-20)"
    assert clean_rewrite("<feedback>two; 1995-12-14</feedback>\n\nnot (x and y)") == "not (x and y)"
    assert clean_rewrite("Certainly.\n\nThe scheduler yields.") == "The scheduler yields."
    # A tag inside the text is content, not an echo.
    assert clean_rewrite("Use the <feedback> tag here.") == "Use the <feedback> tag here."


SCHEDULER = "The task scheduler periodically suspends the running task and restarts another. If a task does not allow itself to be descheduled, others freeze."


def test_restore_spaces_adjacent_words():
    rewrite = "The scheduler restartsanother task; a task that refuses to bedescheduled freezes the rest."
    assert restore_dropped_spaces(rewrite, SCHEDULER) == (
        "The scheduler restarts another task; a task that refuses to be descheduled freezes the rest."
    )


def test_restore_spaces_three_words_and_case():
    assert restore_dropped_spaces("Tobedescheduled is rare.", "It has to be descheduled.") == "To be descheduled is rare."


def test_restore_spaces_leaves_real_words():
    # "however" is not two adjacent source words, and "another" is itself a source word.
    source = "How it was ever done, another day."
    assert restore_dropped_spaces("However, another day came.", source) == "However, another day came."
    # Words joined across punctuation in the source are not a dropped space.
    assert restore_dropped_spaces("The taskscheduler ran.", "The task, scheduler ran.") == "The taskscheduler ran."
    assert restore_dropped_spaces("", SCHEDULER) == ""
