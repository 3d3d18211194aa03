import re

import pytest

from cc_perf_dagster.core.registry import (
    DuplicatePartitionKeyError,
    FileRegistry,
    RegisteredFile,
    SameContent,
    partition_key_for,
)
from cc_perf_dagster_tests.conftest import TEST_INVOICES

VALID_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")


class TestPartitionKey:
    @pytest.mark.parametrize(
        ("name", "key"),
        [
            ("CS003837319.pdf", "CS003837319"),
            ("CI004848705.PDF", "CI004848705"),
            ("Order #12 (copy).pdf", "Order_12_copy"),
            ("a...b.pdf", "a.b"),
            ("  spaced  name .pdf", "spaced_name"),
            ("ünïcode-名前.pdf", "n_code"),
        ],
    )
    def test_rule(self, name, key):
        assert partition_key_for(f"/in/{name}") == key

    @pytest.mark.parametrize("name", ["....pdf", "###.pdf", "x" * 300 + ".pdf", "tab\there.pdf", "../up.pdf"])
    def test_always_a_valid_key(self, name):
        key = partition_key_for(name)
        assert VALID_KEY.match(key) and "..." not in key and len(key) <= 100

    def test_long_names_stay_distinct(self):
        assert partition_key_for("a" * 200 + "1.pdf") != partition_key_for("a" * 200 + "2.pdf")


class TestRegistry:
    def test_register_and_get(self, tmp_path):
        pdf = tmp_path / "CS1.pdf"
        pdf.write_bytes(b"%PDF-1.4 one")
        registry = FileRegistry(tmp_path / "registry")
        entry = registry.register(pdf)
        assert registry.get("CS1") == entry and registry.keys() == ["CS1"]

    def test_the_declared_page_count_is_recorded_and_a_file_that_has_none_is_still_registered(self, tmp_path):
        registry = FileRegistry(tmp_path / "registry")
        assert registry.register(TEST_INVOICES / "CS003837319.pdf").pages == 15
        assert registry.get("CS003837319").pages == 15
        pdf = tmp_path / "CS1.pdf"
        pdf.write_bytes(b"%PDF-1.4 one")  # no page tree: the run refuses it, saying why
        assert registry.register(pdf).pages is None and registry.get("CS1").pages is None
        pdf.write_bytes((TEST_INVOICES / "CI004731586.pdf").read_bytes())
        assert registry.refresh("CS1").pages == 2

    def test_two_files_with_one_key_are_an_error_not_an_overwrite(self, tmp_path):
        (tmp_path / "a b.pdf").write_bytes(b"%PDF-1.4 one")
        (tmp_path / "a_b.pdf").write_bytes(b"%PDF-1.4 two")
        registry = FileRegistry(tmp_path / "registry")
        first = registry.register(tmp_path / "a b.pdf")
        with pytest.raises(DuplicatePartitionKeyError, match="'a_b' is already taken"):
            registry.register(tmp_path / "a_b.pdf")
        assert registry.get("a_b") == first
        registered, errors = FileRegistry(tmp_path / "other").register_many(
            [tmp_path / "a b.pdf", tmp_path / "a_b.pdf"]
        )
        assert len(registered) == 1 and len(errors) == 1

    def test_refresh_rehashes_a_changed_file(self, tmp_path):
        pdf = tmp_path / "x.pdf"
        pdf.write_bytes(b"%PDF-1.4 one")
        registry = FileRegistry(tmp_path / "registry")
        first = registry.register(pdf)
        pdf.write_bytes(b"%PDF-1.4 changed!")
        assert registry.refresh("x").sha256 != first.sha256
        pdf.unlink()
        assert registry.refresh("x") is None
        assert registry.retire("x") and registry.get("x") is None


class TestSameContent:
    def test_a_copy_is_not_registered_again(self, tmp_path):
        (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4 one")
        (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4 one")
        registry = FileRegistry(tmp_path / "registry")
        first = registry.register_content(tmp_path / "a.pdf")
        copy = registry.register_content(tmp_path / "b.pdf")
        assert isinstance(copy, SameContent) and copy.original == first and copy.key == "b"
        assert str(copy) == "b.pdf: same content as a.pdf (partition a)"
        assert registry.keys() == ["a"]
        assert registry.register_content(tmp_path / "a.pdf").key == "a"  # the original itself, again

    def test_a_copy_registered_directly_points_at_the_original(self, tmp_path):
        (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4 one")
        (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4 one")
        registry = FileRegistry(tmp_path / "registry")
        first = registry.register(tmp_path / "a.pdf")
        second = registry.register(tmp_path / "b.pdf")  # what a partition added by hand stands for
        assert registry.original_of(second) == first and registry.original_of(first) is None

    def test_the_copy_takes_over_when_the_original_is_retired_or_changed(self, tmp_path):
        for name in ("a", "b", "c"):
            (tmp_path / f"{name}.pdf").write_bytes(b"%PDF-1.4 one")
        registry = FileRegistry(tmp_path / "registry")
        registry.register(tmp_path / "a.pdf")
        registry.retire("a")
        b = registry.register_content(tmp_path / "b.pdf")
        assert isinstance(b, RegisteredFile)
        (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4 two, longer")  # b's file now holds other bytes
        c = registry.register_content(tmp_path / "c.pdf")
        assert isinstance(c, RegisteredFile)
        assert registry.original_of(c) is None


class TestInvoiceNumbers:
    def test_records_count_while_the_bytes_they_were_read_from_stand(self, tmp_path):
        registry = FileRegistry(tmp_path / "registry")
        entries = {}
        for name, data in (("a", b"%PDF-1.4 one"), ("b", b"%PDF-1.4 two")):
            (tmp_path / f"{name}.pdf").write_bytes(data)
            entries[name] = registry.register(tmp_path / f"{name}.pdf")
            registry.record_invoice_number(name, "CS/1", entries[name].sha256)
        assert [e.key for e in registry.with_invoice_number("CS/1")] == ["a", "b"]
        assert registry.with_invoice_number("CS_1") == []  # the folder name is not the number
        (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4 another invoice")
        registry.refresh("b")
        assert [e.key for e in registry.with_invoice_number("CS/1")] == ["a"]
        registry.retire("a")
        assert registry.with_invoice_number("CS/1") == []

    def test_a_range_records_its_numbers_together_as_one_by_one(self, tmp_path):
        registry = FileRegistry(tmp_path / "registry")
        read = {}
        for index in range(12):
            (tmp_path / f"{index}.pdf").write_bytes(b"%PDF-1.4 " + bytes([65 + index]))
            read[str(index)] = (f"CS{index % 3}", registry.register(tmp_path / f"{index}.pdf").sha256)
        registry.record_invoice_numbers(read)
        for number in ("CS0", "CS1", "CS2"):
            found = [e.key for e in registry.with_invoice_number(number)]
            assert found == sorted(k for k, (n, _) in read.items() if n == number)
