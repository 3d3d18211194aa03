"""Cells too narrow for their text: units, column and tariff labels broken over their cells' lines (and pages), read
whole; a word broken inside, a doubt."""

from cc_perf_dagster.core.layout import build_rows
from cc_perf_dagster.core.models import ItemRecord, TariffRecord, TextRecord, Word
from cc_perf_dagster.core.vendors.creative_coop import assemble
from cc_perf_dagster.core.vendors.creative_coop.row_height import cut_off_cells, rows_grow
from cc_perf_dagster.core.vendors.creative_coop.wrapped_unit import join_wrapped_units
from cc_perf_dagster_tests.core.test_creative_coop import (
    OC_HEADER,
    SIZE,
    header_runs,
    oc_page,
    oc_row,
    page,
    right,
    text,
)

QTYS, AMOUNTS = ["12", "0", "0", "12"], ["2.99", "2.39", "28.68"]
LINE = 1.15 * SIZE  # a cell's line spacing


def row(y, code, desc, unit):
    """A product row's runs at ``y``; ``unit`` "" prints none on the row's line."""
    runs = oc_row(y, code, "191009368250", desc, QTYS, unit or "x", AMOUNTS)
    return [r for r in runs if unit or r.text != "x"]


def items(*runs):
    invoice = assemble("t.pdf", "sha", [oc_page([r for part in runs for r in part])])
    return invoice, [(i.product_code, i.description, i.unit) for i in invoice.line_items]


def test_a_unit_wrapped_below_its_row_beside_the_descriptions_second_line_is_joined():
    # pdfmake, cells aligned top, a U/M column sized for "each": "lo" on XS4444's line, "each"
    # below it, on the description's second line. The row read the unit "lo", and the line
    # "Pitcher w/ Handle each" fitted no column: refused.
    invoice, read = items(
        row(680, "XS4444", "15in Enameled", "lo"),
        [text("Pitcher w/ Handle", 130, 680 - LINE), text("each", 430, 680 - LINE)],
        row(660, "XS6241", "Linen Runner", "each"),
    )
    assert invoice.doubts == ()
    assert read == [("XS4444", "15in Enameled Pitcher w/ Handle", "lo each"), ("XS6241", "Linen Runner", "each")]


def test_a_unit_wrapped_around_a_row_whose_line_holds_none_of_it_is_joined():
    # Cells aligned middle: "lo" half a line above the row's line, "each" half a line below.
    invoice, read = items(
        row(680, "XS4444", "Enameled Pitcher", ""),
        [text("lo", 430, 680 + LINE / 2), text("each", 430, 680 - LINE / 2)],
        row(660, "XS6241", "Linen Runner", "each"),
    )
    assert invoice.doubts == ()
    assert read[0] == ("XS4444", "Enameled Pitcher", "lo each")


def test_a_piece_that_makes_no_unit_of_the_vendors_stays_a_doubt():
    # "pk" under "lo" is no unit the vendor prints: nothing says it belongs to the unit.
    invoice, read = items(
        row(680, "XS4444", "Enameled Pitcher", "lo"),
        [text("pk", 430, 680 - LINE)],
        row(660, "XS6241", "Linen Runner", "each"),
    )
    assert read[0][2] == "lo"
    assert any('"pk" lies on a line of its own in the quantity, unit and price columns' in d for d in invoice.doubts)


def test_a_piece_two_rows_could_take_is_joined_to_neither(monkeypatch):
    # Were "each pk" a unit of the vendor's too, "each" between a row reading "lo" and a row
    # reading "pk" would end the upper row's unit (aligned top) or start the lower's (aligned
    # bottom), as far from both: neither is read, and the piece stays a doubt.
    from cc_perf_dagster.core.vendors.creative_coop import wrapped_unit

    monkeypatch.setattr(wrapped_unit, "UNITS", wrapped_unit.UNITS | {"each pk"})
    rows = build_rows(
        [
            *row(680, "XS4444", "Pitcher", "lo"),
            text("each", 430, 680 - LINE),
            *row(680 - 2 * LINE, "XS6241", "Runner", "pk"),
        ]
    )
    assert join_wrapped_units(rows) == rows
    one = build_rows([*row(680, "XS4444", "Pitcher", "lo"), text("each", 430, 680 - LINE)])
    assert [r.text for r in join_wrapped_units(one)] == [one[0].text.replace(" lo ", " lo each ")]


def test_a_piece_is_taken_only_from_the_unit_cell():
    # "each" under the row but over the list price's cell: a wrapped price's line, not the unit's.
    rows = build_rows([*row(680, "XS4444", "Pitcher", "lo"), text("each", 470, 680 - LINE)])
    assert join_wrapped_units(rows) == rows


def test_a_column_label_broken_inside_its_word_joins_the_table_header():
    # pdfmake breaks "Shipped" in a narrow column: "Shippe" over "d", a third header line. The
    # "d" was read as a line among the items, "in the quantity, unit and price columns": refused.
    header = [text(v, x, 700) for x, v in OC_HEADER if v != "Qty Shipped"]
    header += [text("Qty", 360, 700), text("Shippe", 360, 700 - LINE), text("d", 360, 700 - 2 * LINE)]
    runs = header_runs("CS003837319", "1/17/2025") + header
    runs += oc_row(700 - 3 * LINE, "XS6241", "191009568308", "Linen Runner", QTYS, "each", AMOUNTS)
    invoice = assemble("t.pdf", "sha", [page("CS003837319", runs)])
    assert invoice.doubts == ()
    assert [(i.product_code, i.description) for i in invoice.line_items] == [("XS6241", "Linen Runner")]


def test_lines_that_held_only_pieces_of_a_rows_cells_count_as_its_lines():
    # A UPC wrapped in every row (its last digit on a line of its own where the description has
    # one line): the tables' rows are all two lines tall. Without the pieces' lines, a row of
    # one description line stood as far from its tariff line as a row of two: "rows of one
    # height", and every full cell a doubt that its text was cut off, though XS3's row of three
    # lines shows the rows growing.
    def item(code, y, held=()):
        return ItemRecord(code, "191009310372", (Word("Box", 134, 150),), "each", ("1.00", "1.00"), y, 6.5, held=held)

    def line(y):
        return TextRecord("Gold Finish", 134, 170, y, 6.5, False)

    records = [item("XS1", 700), line(694), TariffRecord("1.00", 688), item("XS2", 670, held=(664,))]
    records += [TariffRecord("1.00", 658), item("XS3", 640), line(634), line(628), TariffRecord("1.00", 622)]
    assert cut_off_cells(records) == () and rows_grow(records)
    unheld = [*records[:3], item("XS2", 670), *records[4:]]
    assert cut_off_cells(unheld) != ()
    # Without XS3, every row is two lines tall and nothing shows the rows growing: a table of
    # rows of one height whose third lines were cut off would look the same. Still a doubt.
    assert cut_off_cells(records[:5]) != () and not rows_grow(records[:5])


def tariff_under_its_label(amount_x=130, label=("Tariff", "Surcharge")):
    """XS4444 (extended 28.68, its tariff 4.30) whose tariff line wraps in the description cell, then XS6241."""
    runs = [*row(680, "XS4444", "Enameled", "each"), text("Pitcher", 130, 680 - LINE)]
    y = 680 - LINE
    for word in label:
        y -= LINE
        runs.append(text(word, 130, y))
    runs.append(text("4.30", amount_x, y - LINE))
    return items(runs, row(y - 2 * LINE, "XS6241", "Linen Runner", "each"))


def test_an_amount_under_its_tariff_label_only_where_its_cell_is_the_labels():
    # TCPDF's "Tariff" / "Surcharge" / "4.30" in a narrow description cell is the item's tariff
    # (test_creative_coop's TestProducerShapes); under a line that is no tariff label, or in a
    # cell of its own left of the label's column, the amount is still a line no item can take.
    invoice = tariff_under_its_label()[0]
    assert invoice.doubts == () and [str(i.tariff_surcharge) for i in invoice.line_items] == ["4.30", "None"]
    for read in (tariff_under_its_label(label=("Speckled",)), tariff_under_its_label(amount_x=90)):
        invoice = read[0]
        assert all(i.tariff_surcharge is None for i in invoice.line_items)
        assert any("an amount on a line of its own and no item can take it ('4.30')" in d for d in invoice.doubts)


def label_ending_the_page(label=("Tariff", "Surcharge"), footer="1 / 2"):
    """XS4444's tariff cell broken across a page: ``label`` ends page 1 (then ``footer``), 4.30 heads page 2."""
    first = [*row(680, "XS4444", "Enameled", "each"), text("Pitcher", 130, 680 - LINE)]
    first += [text(word, 130, 680 - (2 + n) * LINE) for n, word in enumerate(label)]
    first += [text(footer, 480, 40)]
    second = [text("4.30", 130, 690), *row(680, "XS6241", "Linen Runner", "each")]
    invoice = assemble("t.pdf", "sha", [oc_page(first), oc_page(second, page_no=2)])
    return invoice, [(i.description, str(i.tariff_surcharge)) for i in invoice.line_items]


def test_a_tariff_cell_broken_across_a_page_is_the_items_tariff():
    # TCPDF breaks a cell over a page: "Tariff" / "Surcharge" end page 1, under its own page
    # number ("1 / 2"), and "4.30" is page 2's first row. The label was booked as the end of
    # XS4444's description and the amount was a line no item could take: refused.
    invoice, read = label_ending_the_page()
    assert invoice.doubts == ()
    assert read == [("Enameled Pitcher", "4.30"), ("Linen Runner", "None")]
    assert label_ending_the_page(footer="Continued on next page")[1] == read


def test_an_amount_heading_a_page_after_description_words_is_no_tariff():
    invoice, read = label_ending_the_page(label=("Speckled",))
    assert read == [("Enameled Pitcher Speckled", "None"), ("Linen Runner", "None")]
    assert any("an amount on a line of its own and no item can take it ('4.30')" in d for d in invoice.doubts)


def test_a_tariff_label_ending_a_page_whose_line_heads_the_next_is_no_description():
    # TCPDF in Times: "Tariff" ends page 1, "Surcharge 4.30" heads page 2. XS4444 took its tariff
    # and "Tariff" as its description's last word, silently.
    first = [*row(680, "XS4444", "Enameled", "each"), text("Tariff", 130, 680 - LINE), text("1 / 2", 480, 40)]
    second = [text("Surcharge", 130, 690), right("4.30", 575, 690), *row(680, "XS6241", "Linen Runner", "each")]
    invoice = assemble("t.pdf", "sha", [oc_page(first), oc_page(second, page_no=2)])
    assert [(i.description, str(i.tariff_surcharge)) for i in invoice.line_items] == [
        ("Enameled", "4.30"),
        ("Linen Runner", "None"),
    ]
    assert invoice.doubts == ()


def broken(lower: str, upper: str = "20in Embroi"):
    """XS4444 whose description's first line ``upper`` is the column's widest, ``lower`` under it; then XS6241."""
    return items(
        row(680, "XS4444", upper, "each"),
        [text(lower, 130, 680 - LINE), text("Cotton Knit", 130, 680 - 2 * LINE)],
        row(640, "XS6241", "Linen Runner", "each"),
    )


def test_a_word_broken_inside_over_two_lines_of_its_cell_is_a_doubt():
    # PDFKit in Courier: "20"L Embroi" fills the cell, "dered" starts the next line. It was
    # booked "20"L Embroi dered Cotton Knit", silently.
    invoice, _ = broken("dered")
    assert any("a word may be broken in two" in d and "(Embroi / dered)" in d for d in invoice.doubts)


def test_a_full_line_before_the_vendors_own_lower_case_words_or_a_capital_is_read():
    for lower in ("x Stocking", "w Tassels", "Stocking"):
        invoice, read = broken(lower)
        assert invoice.doubts == () and read[0][1] == f"20in Embroi {lower} Cotton Knit"
    invoice, read = broken("dered", upper="20in Emb")  # three glyphs short of the widest line: not full
    assert invoice.doubts == ()
