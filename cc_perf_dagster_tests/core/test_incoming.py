import hashlib
import json
import os
import shutil
import time

from cc_perf_dagster.core.incoming import (
    STABLE_S,
    UNREADABLE_GRACE_S,
    dump_cursor,
    load_cursor,
    look,
    quarantine,
    quarantine_folder,
    scan,
    settle,
)
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster_tests.conftest import BAD_INVOICES, TEST_INVOICES

GOOD = ["CI004731586.pdf", "CI004790233.pdf", "CS003702114.pdf"]


def drop(folder, *names, source=TEST_INVOICES):
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(source / name, folder / name)


class TestScan:
    def test_hidden_partial_and_other_files_are_left_alone(self, tmp_path):
        incoming = tmp_path / "in"
        drop(incoming, "CI004731586.pdf")
        for name in (".hidden.pdf", "upload.pdf.part", "notes.txt", "x.pdf.tmp"):
            (incoming / name).write_bytes(b"%PDF-1.4")
        seen, refused = scan(incoming, max_bytes=10**9)
        assert [s.name for s in seen] == ["CI004731586.pdf"] and refused == []

    def test_links_outside_and_oversized_files_are_refused(self, tmp_path):
        incoming = tmp_path / "in"
        drop(incoming, "CI004731586.pdf")
        outside = tmp_path / "elsewhere.pdf"
        outside.write_bytes(b"%PDF-1.4 secret")
        os.symlink(outside, incoming / "link.pdf")
        seen, refused = scan(incoming, max_bytes=100)
        assert seen == []
        assert sorted(r.code for r in refused) == ["link_outside_folder", "too_large"]


class TestSettle:
    def test_a_file_waits_until_unchanged_across_two_looks(self, tmp_path):
        incoming = tmp_path / "in"
        drop(incoming, "CI004731586.pdf")
        seen, _ = scan(incoming, max_bytes=10**9)
        ready, pending = settle(seen, {})
        assert ready == [] and list(pending) == ["CI004731586.pdf"]
        ready, pending = settle(seen, load_cursor(dump_cursor(pending)))
        assert [r.name for r in ready] == ["CI004731586.pdf"] and pending == {}

    def test_a_file_already_still_for_as_long_as_two_looks_are_apart_is_taken_on_the_first(self, tmp_path):
        incoming = tmp_path / "in"
        drop(incoming, "CI004731586.pdf", "CI004790233.pdf")
        modified = 1_700_000_000
        os.utime(incoming / "CI004731586.pdf", (modified, modified))  # moved in, or copied keeping its time
        seen, _ = scan(incoming, max_bytes=10**9)
        ready, pending = settle(seen, {}, now=modified + STABLE_S)
        assert [r.name for r in ready] == ["CI004731586.pdf"] and list(pending) == ["CI004790233.pdf"]
        ready, pending = settle(seen, {}, now=modified + STABLE_S - 0.5)
        assert ready == [] and sorted(pending) == ["CI004731586.pdf", "CI004790233.pdf"]

    def test_a_growing_file_keeps_waiting(self, tmp_path):
        incoming = tmp_path / "in"
        incoming.mkdir()
        path = incoming / "big.pdf"
        path.write_bytes(b"%PDF-1.4 part one")
        _, pending = settle(scan(incoming, max_bytes=10**9)[0], {})
        with path.open("ab") as fh:
            fh.write(b" and more")
        ready, pending = settle(scan(incoming, max_bytes=10**9)[0], pending)
        assert ready == [] and "big.pdf" in pending


def test_quarantine_moves_and_writes_a_note_never_deletes(tmp_path):
    incoming = tmp_path / "in"
    drop(incoming, "empty.pdf", source=BAD_INVOICES)
    moved = quarantine(incoming / "empty.pdf", incoming, code="empty_file", reason="empty file (0 bytes)")
    assert moved == quarantine_folder(incoming) / "empty.pdf" and moved.exists()
    note = json.loads((quarantine_folder(incoming) / "empty.pdf.error.json").read_text())
    assert note["error"] == "empty_file" and note["reason"] == "empty file (0 bytes)" and note["at"]
    drop(incoming, "empty.pdf", source=BAD_INVOICES)  # the same name again: kept, not overwritten
    second = quarantine(incoming / "empty.pdf", incoming, code="empty_file", reason="again")
    assert second.name == "empty-1.pdf" and moved.exists()


def checker(path):
    from cc_perf_dagster.core.screening import quick_check

    return quick_check(path)


class TestLook:
    def tick(self, incoming, registry, cursor, **kw):
        options = {"max_files": 100, "max_bytes": 10**9, "budget_s": 30.0, "check": checker}
        return look(incoming, registry, cursor, **{**options, **kw})

    def test_two_ticks_then_nothing_more(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        drop(incoming, *GOOD)
        first = self.tick(incoming, registry, None)
        assert first.accepted == [] and first.waiting == 3
        second = self.tick(incoming, registry, first.cursor)
        assert sorted(e.key for e in second.accepted) == ["CI004731586", "CI004790233", "CS003702114"]
        third = self.tick(incoming, registry, second.cursor)
        assert third.accepted == [] and third.waiting == 0

    def test_files_moved_in_unchanged_for_long_are_taken_on_the_first_tick(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        drop(incoming, *GOOD)
        long_ago = time.time() - 3600
        for name in GOOD[:2]:
            os.utime(incoming / name, (long_ago, long_ago))
        first = self.tick(incoming, registry, None)
        assert sorted(e.key for e in first.accepted) == ["CI004731586", "CI004790233"] and first.waiting == 1
        second = self.tick(incoming, registry, first.cursor)
        assert [e.key for e in second.accepted] == ["CS003702114"] and second.waiting == 0

    def test_a_changed_file_is_processed_again(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        drop(incoming, "CI004731586.pdf")
        cursor = self.tick(incoming, registry, self.tick(incoming, registry, None).cursor).cursor
        shutil.copy(TEST_INVOICES / "CI004790233.pdf", incoming / "CI004731586.pdf")  # new bytes, same name
        cursor = self.tick(incoming, registry, cursor).cursor
        again = self.tick(incoming, registry, cursor)
        assert [e.key for e in again.accepted] == ["CI004731586"]
        assert registry.get("CI004731586").sha256 == again.accepted[0].sha256

    def test_same_bytes_under_a_second_name_are_noted_once(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        drop(incoming, "CI004731586.pdf")
        shutil.copy(TEST_INVOICES / "CI004731586.pdf", incoming / "copy of invoice.pdf")
        second = self.tick(incoming, registry, self.tick(incoming, registry, None).cursor)
        assert [e.key for e in second.accepted] == ["CI004731586"]
        assert second.duplicates == [("copy of invoice.pdf", "CI004731586")]
        third = self.tick(incoming, registry, second.cursor)
        assert third.duplicates == [] and third.accepted == []

    def test_bad_files_are_quarantined_once_unchanged_for_the_grace_and_others_flow(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        drop(incoming, "CI004731586.pdf")
        bad = ["not_a_pdf.pdf", "other_vendor.pdf", "truncated.pdf"]
        drop(incoming, *bad, source=BAD_INVOICES)
        second = self.tick(incoming, registry, self.tick(incoming, registry, None).cursor)
        assert [e.key for e in second.accepted] == ["CI004731586"]
        # just written: held, not quarantined (a copy may have stalled), and looked at again
        assert second.refused == [] and sorted(r.path.name for r in second.held) == bad
        assert all(r.reason for r in second.held) and second.waiting == 3
        assert not quarantine_folder(incoming).exists()
        later = time.time() + UNREADABLE_GRACE_S + 1
        third = self.tick(incoming, registry, second.cursor, now=lambda: later)
        assert sorted(r.path.name for r in third.refused) == bad and third.held == [] and third.waiting == 0
        quarantined = sorted(p.name for p in quarantine_folder(incoming).iterdir())
        assert "truncated.pdf" in quarantined and "truncated.pdf.error.json" in quarantined
        assert sorted(p.name for p in incoming.iterdir()) == ["CI004731586.pdf"]

    def test_a_copy_that_stalls_half_written_is_taken_whole_when_it_resumes(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        incoming.mkdir()
        whole = (TEST_INVOICES / "CS003837319.pdf").read_bytes()
        target = incoming / "CS003837319.pdf"
        target.write_bytes(whole[: len(whole) // 2])  # the copy stalls: unchanged across two ticks
        cursor = self.tick(incoming, registry, None).cursor
        stalled = self.tick(incoming, registry, cursor)
        assert stalled.accepted == [] and [r.path.name for r in stalled.held] == ["CS003837319.pdf"]
        with open(target, "ab") as rest:  # it resumes
            rest.write(whole[len(whole) // 2 :])
        os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 1_000_000))
        changed = self.tick(incoming, registry, stalled.cursor)
        assert changed.accepted == [] and changed.held == [] and changed.waiting == 1
        taken = self.tick(incoming, registry, changed.cursor)
        assert [e.key for e in taken.accepted] == ["CS003837319"] and taken.refused == []
        assert registry.get("CS003837319").sha256 == hashlib.sha256(whole).hexdigest()
        assert not quarantine_folder(incoming).exists()

    def test_ticks_are_bounded_and_carry_the_rest_over(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        drop(incoming, *GOOD)
        cursor = self.tick(incoming, registry, None, max_files=2).cursor
        second = self.tick(incoming, registry, cursor, max_files=2)
        assert len(second.accepted) == 2 and second.waiting == 1
        third = self.tick(incoming, registry, second.cursor, max_files=2)
        assert len(third.accepted) == 1 and third.waiting == 0

    def test_a_restart_with_the_cursor_repeats_nothing_and_loses_nothing(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        drop(incoming, *GOOD)
        first = self.tick(incoming, registry, None)
        # the process restarts: a new registry object, the stored cursor
        second = self.tick(incoming, FileRegistry(tmp_path / "registry"), first.cursor)
        assert len(second.accepted) == 3
        third = self.tick(incoming, FileRegistry(tmp_path / "registry"), second.cursor)
        assert third.accepted == []

    def test_two_copies_arriving_together_are_taken_once(self, tmp_path):
        incoming, registry = tmp_path / "in", FileRegistry(tmp_path / "registry")
        incoming.mkdir()
        for name in ("a.pdf", "b.pdf"):
            shutil.copy(TEST_INVOICES / "CS003702114.pdf", incoming / name)
        second = self.tick(incoming, registry, self.tick(incoming, registry, None).cursor)
        (accepted,) = second.accepted
        (duplicate,) = second.duplicates
        assert {accepted.file, duplicate[0]} == {"a.pdf", "b.pdf"} and duplicate[1] == accepted.key
        assert registry.keys() == [accepted.key]
