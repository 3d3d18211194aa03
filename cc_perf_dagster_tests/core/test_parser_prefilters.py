"""The cheap tests the parser runs before its patterns let through every word a pattern matches.

The parser asks a regular expression of nearly every word on a page; a cheaper test in front of
it (a word's last character, its length, a character it must hold) sends most words past it.
Such a test may only ever be looser than its pattern: these fail when a pattern is changed to
match a word its cheap test would turn away.
"""

import itertools
import string

from cc_perf_dagster.core.vendors.creative_coop.header import _LABEL_LAST
from cc_perf_dagster.core.vendors.creative_coop.patterns import (
    DOC_NUMBER,
    GLUED_CODE_UPC,
    GLUED_UPC,
    LABEL_END,
    MONEY,
)
from cc_perf_dagster.core.vendors.creative_coop.rows import GLUED_MIN_LENGTH

# Letters of the labels in either case, characters that fold to them (Kelvin sign, long s, dotted
# and dotless i), digits, and the punctuation the patterns name.
_ALPHABET = "DATENOUMBRdatenoumbrKkſıİ#.:$,-/ \n05"


def _short_words(length: int):
    for size in range(1, length + 1):
        for chars in itertools.product(_ALPHABET, repeat=size):
            yield "".join(chars)


def _label_like_words():
    for word in ("DATE", "NO", "NUMBER", "#", "Inv", "Order", "Ship", "PO", "Ref", "Date"):
        for variant in (word, word.lower(), word.upper(), word.swapcase()):
            for prefix in ("", "Invoice ", "Inv", "x"):
                for suffix in ("", ".", ":", ".:", ":.", "\n", ".\n", ".:\n", " ", "s"):
                    yield prefix + variant + suffix


def test_a_label_ends_in_a_character_the_cheap_test_lets_through():
    matched = 0
    for word in itertools.chain(_short_words(3), _label_like_words()):
        if LABEL_END.search(word):
            matched += 1
            assert word[-1:] in _LABEL_LAST, repr(word)
    assert matched > 500  # the words above do reach the pattern


def test_glued_codes_and_upcs_are_never_shorter_than_the_cheap_test_allows():
    shortest = [
        "AB1234567890123456",  # code and UPC glued
        "AB-123A123456789012",
        "123456789012Frosted",  # UPC and description glued
        "123456789012X",
    ]
    for word in shortest:
        assert GLUED_CODE_UPC.match(word) or GLUED_UPC.match(word), word
        assert len(word) >= GLUED_MIN_LENGTH
    for size in range(1, GLUED_MIN_LENGTH):
        for fill in (string.digits, "A" * 3 + string.digits * 2, "1" * 12 + "A"):
            word = (fill * 3)[:size]
            assert not GLUED_CODE_UPC.match(word) and not GLUED_UPC.match(word), word
            assert not GLUED_UPC.match(word + "\n")


def test_an_amount_and_a_document_number_hold_the_characters_tested_first():
    for word in ("1.00", "$1,234.56", "12.34\n", "0.00", "CS003837319", "xCI004731586y"):
        if MONEY.match(word):
            assert "." in word
        if DOC_NUMBER.search(word):
            assert "C" in word
    for word in _short_words(2):
        assert not MONEY.match(word) or "." in word
