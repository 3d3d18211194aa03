"""Rows padded generously: tariff lines drawn further below their product rows than a tariff line sits."""

from cc_perf_dagster.core.vendors.creative_coop import assemble
from cc_perf_dagster_tests.core.test_creative_coop import SIZE, oc_page, oc_row, right, text

QTYS, AMOUNTS = ["24", "0", "0", "24"], ["2.00", "1.60", "38.40"]  # extended 38.40: its tariff is 5.76
STEP = 3.4 * SIZE  # pdfkit-table, five points of padding: each row 3.4 font sizes under the one above


TOTALS = (("Sub-Total", "76.80"), ("Total Tariff", "11.52"), ("Total Due", "88.32"))


def padded(first=("5.76",), last="5.76", totals=TOTALS):
    # Two product rows, each with its tariff line in a row of its own, past TARIFF_GAP (3.2)
    # below it, then the totals block.
    runs, y = oc_row(680, "XS4444", "191009075912", "Enameled Pitcher", QTYS, "each", AMOUNTS), 680
    for amount in first:
        y -= STEP
        runs += [text("Tariff Surcharge", 130, y), right(amount, 575, y)]
    y -= STEP
    runs += oc_row(y, "XS6241", "191009568308", "Linen Runner", QTYS, "each", AMOUNTS)
    y -= STEP
    runs += [text("Tariff Surcharge", 130, y), right(last, 575, y)]
    for label, amount in totals:
        y -= 2 * SIZE
        runs += [text(label, 470, y), right(amount, 575, y)]
    return assemble("t.pdf", "sha", [oc_page(runs)])


def test_tariff_lines_far_below_their_rows_are_their_items_where_each_is_fifteen_percent_of_it():
    # The first was left to no item ("1 tariff line(s) among the line items belong to no item"),
    # the second taken for the totals block's tariff: refused. Nothing else stands between two
    # product rows, 5.76 is 15% of 38.40, and the block prints its own tariff total.
    invoice = padded()
    assert invoice.doubts == ()
    assert [str(i.tariff_surcharge) for i in invoice.line_items] == ["5.76", "5.76"]
    assert str(invoice.totals.tariff) == "11.52"


def test_a_far_tariff_line_of_another_amount_belongs_to_no_item():
    invoice = padded(first=("6.12",))
    assert invoice.line_items[0].tariff_surcharge is None
    assert any("1 tariff line(s) among the line items belong to no item (6.12)" in d for d in invoice.doubts)


def test_two_far_tariff_lines_between_two_rows_belong_to_no_item():
    # A row between them may have been left unread: neither is taken.
    invoice = padded(first=("5.76", "5.76"))
    assert invoice.line_items[0].tariff_surcharge is None
    assert any("2 tariff line(s) among the line items belong to no item" in d for d in invoice.doubts)


def test_a_far_tariff_line_before_a_totals_block_without_a_tariff_total_is_the_last_items():
    # The block prints no tariff total, but XS4444 has a tariff: a tariff total would add it in,
    # so 5.76 (15% of XS6241's 38.40) is XS6241's, and the block's Total adds both up.
    invoice = padded(totals=(("Sub-Total", "76.80"), ("Total Due", "88.32")))
    assert invoice.doubts == ()
    assert [str(i.tariff_surcharge) for i in invoice.line_items] == ["5.76", "5.76"]


def test_the_only_far_tariff_line_before_a_totals_block_without_a_tariff_total_is_the_blocks():
    # No other item has a tariff: the line may be the block's tariff total as well as the last
    # item's, and the item is not given it.
    invoice = padded(first=("6.12",), totals=(("Sub-Total", "76.80"), ("Total Due", "82.56")))
    assert invoice.line_items[1].tariff_surcharge is None
    assert str(invoice.totals.tariff) == "5.76"
