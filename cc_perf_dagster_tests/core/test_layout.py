import random

import pytest

from cc_perf_dagster.core.layout import build_rows
from cc_perf_dagster.core.models import TextRun


def run(text, x0, y, size=8.0, width=None):
    return TextRun(text, x0, x0 + (width if width is not None else 0.5 * size * len(text)), y, size)


class TestBuildRows:
    def test_rows_follow_positions_not_input_order(self):
        runs = [
            run("XS9826A", 20, 700),
            run("191009727774", 70, 700),
            run('6"H Metal', 130, 700),
            run("24", 300, 700),
            run("Tariff Surcharge", 130, 690),
            run("5.76", 540, 690),
        ]
        for seed in range(5):
            shuffled = runs[:]
            random.Random(seed).shuffle(shuffled)
            rows = build_rows(shuffled)
            assert [r.text for r in rows] == ['XS9826A 191009727774 6"H Metal 24', "Tariff Surcharge 5.76"]

    def test_small_baseline_jitter_stays_on_one_row(self):
        rows = build_rows([run("A", 10, 700.0), run("B", 50, 699.2), run("C", 90, 700.6)])
        assert [r.text for r in rows] == ["A B C"]

    def test_line_spacing_separates_rows(self):
        rows = build_rows([run("upper", 10, 700), run("lower", 10, 690)])
        assert [r.text for r in rows] == ["upper", "lower"]

    def test_touching_runs_glue_into_one_word(self):
        # "Orna" ends exactly where "ment," starts: one word, drawn in two pieces (kerning).
        rows = build_rows([run("ment,", 30, 700, width=20), run("Orna", 10, 700, width=20)])
        assert rows[0].text == "Orna ment,".replace(" ", "")

    @pytest.mark.parametrize(("gap", "text"), [(0.67, "19.60"), (1.6, "19. 60")])
    def test_letter_spaced_pieces_glue_and_a_space_still_splits(self, gap, text):
        # Firefox, cells letter-spaced 0.6 px: "19." and "60" drawn 0.67 pt apart at 8 pt (0.084
        # em), which 0.08 em split; a space narrower than any font's (0.2 em) still splits.
        rows = build_rows([run("19.", 10, 700, width=9), run("60", 19 + gap, 700, width=8)])
        assert rows[0].text == text

    def test_word_by_word_runs_get_single_spaces(self):
        words = ['6"H', "Metal", "Ballerina", "Ornament,"]
        runs, x = [], 100.0
        for word in words:
            runs.append(run(word, x, 500, width=4 * len(word)))
            x += 4 * len(word) + 2.2  # a space of 0.275 em at 8 pt
        random.Random(1).shuffle(runs)
        assert build_rows(runs)[0].text == '6"H Metal Ballerina Ornament,'

    def test_duplicate_text_drawn_twice_is_read_once(self):
        rows = build_rows([run("TOTAL", 10, 100), run("TOTAL", 10.2, 100)])
        assert rows[0].text == "TOTAL"

    def test_word_positions_are_kept(self):
        row = build_rows([run("XS9826A 191009727774", 20, 700, width=100)])[0]
        assert [w.text for w in row.words] == ["XS9826A", "191009727774"]
        assert row.words[0].x0 == 20
        assert row.words[1].x0 > row.words[0].x1

    def test_no_runs_no_rows(self):
        assert build_rows([]) == []
