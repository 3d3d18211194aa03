"""Error messages are one line whatever the file is called."""

from __future__ import annotations

import pytest

from cc_perf_dagster.core.errors import DamagedPdfError, NotAPdfError, one_line

HOSTILE = "bad\nname\x1b[31m red\r\t\x00\x7f\x9b\u2028.pdf"


class TestOneLine:
    @pytest.mark.parametrize(
        ("raw", "shown"),
        [
            ("a\nb", "a\\nb"),
            ("\x1b[31mred", "\\x1b[31mred"),
            ("tab\there", "tab\\there"),
            ("nul\x00", "nul\\x00"),
            ("c1\x9b", "c1\\x9b"),
            ("ls\u2028", "ls\\u2028"),
            ("plain Ünïcödé 100% ok", "plain Ünïcödé 100% ok"),
        ],
    )
    def test_control_characters_are_escaped(self, raw, shown):
        assert one_line(raw) == shown

    def test_error_message_escapes_the_file_name_and_keeps_it_raw_in_the_data(self):
        error = NotAPdfError("the file does not start with %PDF", file=HOSTILE, page=2)
        text = str(error)
        assert len(text.splitlines()) == 1 and "\x1b" not in text and text.isprintable()
        assert text.startswith("bad\\nname\\x1b[31m red") and ": page 2: the file does not start" in text
        assert error.to_dict()["file"] == HOSTILE

    def test_reasons_quoting_a_file_name_are_escaped_too(self):
        text = str(DamagedPdfError(f"also see {HOSTILE}", file="x.pdf"))
        assert text.isprintable()
