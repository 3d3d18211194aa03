import re

import pytest

from cc_perf_dagster.core.registry import DuplicatePartitionKeyError, FileRegistry, partition_key_for

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
