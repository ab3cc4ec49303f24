"""Offline token count estimate for BPE tokenizers such as Qwen's or GPT's."""

from __future__ import annotations

import re

# Han, kana, hangul and the CJK and fullwidth punctuation blocks, without the
# ideographic space U+3000, which counts as whitespace. The chunker uses the
# same set to find word boundaries in text without spaces.
CJK_CHARS = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3001-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff01-\uffef"  # Halfwidth and fullwidth forms
    "\U00020000-\U0002fa1f"  # CJK Extensions B to F, compatibility supplement
)

LETTERS_PER_TOKEN = 4
DIGITS_PER_TOKEN = 3
REPEATS_PER_TOKEN = 8

# One match per estimated token. Letters exclude CJK, digits and the
# underscore. Digits are the decimal digits outside the CJK blocks. Matching
# greedily cuts a run of n letters into ceil(n / 4) tokens, a run of n digits
# into ceil(n / 3), and a run of one repeated symbol into ceil(n / 8).
TOKEN_PATTERN = re.compile(
    rf"[^\W\d_{CJK_CHARS}]{{1,{LETTERS_PER_TOKEN}}}"
    rf"|[^\D{CJK_CHARS}]{{1,{DIGITS_PER_TOKEN}}}"
    rf"|(_|[^\w\s{CJK_CHARS}])\1{{0,{REPEATS_PER_TOKEN - 1}}}"
    r"|\S"
)


def estimate_tokens(text: str) -> int:
    """Estimate how many tokens a BPE tokenizer splits `text` into, without a vocabulary.

    This is an estimate, not a tokenizer. Each CJK, kana or hangul character is
    one token. A run of letters is one token per 4 letters, rounded up, and a
    run of decimal digits one token per 3 digits, rounded up. A run of one
    repeated symbol, such as a reST underline or a table border, is one token
    per 8 characters. Every other character that is not whitespace
    (punctuation, symbols, underscore, emoji, combining marks) is one token,
    and whitespace is free.

    NOTE: the ratios are rules of thumb and were not calibrated against a real
    tokenizer, so expect errors in either direction, largest on code, URLs
    and scripts outside Latin and CJK.

    The estimate of a concatenation never exceeds the sum of the estimates of
    its parts, and the two are equal when no cut falls inside a run of
    letters, of digits or of one repeated symbol. The chunker relies on both
    properties.
    """
    # subn counts the matches without building a list of them.
    return TOKEN_PATTERN.subn("", text)[1]
