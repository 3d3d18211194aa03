"""Atomic, durable writes: one file, and many with one flush."""

from __future__ import annotations

import os

import pytest

from cc_perf_dagster.core import files
from cc_perf_dagster.core.files import SYNCFS_FROM, atomic_write_text, atomic_write_texts


def disk_full(*_):
    raise OSError(28, "No space left on device")


class TestOneFile:
    def test_writes_and_replaces_creating_folders(self, tmp_path):
        target = tmp_path / "a" / "b" / "out.csv"
        atomic_write_text(target, "one\r\n")
        atomic_write_text(target, "two\r\n")
        assert target.read_bytes() == b"two\r\n"  # newlines as given, not translated
        assert os.listdir(target.parent) == ["out.csv"]

    def test_a_failed_write_leaves_the_old_file_and_no_temporary(self, tmp_path, monkeypatch):
        target = tmp_path / "out.json"
        atomic_write_text(target, '{"old": true}\n')
        monkeypatch.setattr(files.os, "fsync", disk_full)
        with pytest.raises(OSError, match="No space left"):
            atomic_write_text(target, '{"new": tr')
        assert target.read_text() == '{"old": true}\n'
        assert os.listdir(tmp_path) == ["out.json"]


class TestManyFiles:
    def texts(self, tmp_path, count):
        return {tmp_path / f"sub{i % 3}" / f"{i}.json": f'{{"n": {i}, "text": "é"}}\n' for i in range(count)}

    def test_every_file_is_written_whole_with_one_flush_of_the_file_system(self, tmp_path, monkeypatch):
        flushed, fsynced = [], []
        real_syncfs = files._syncfs()
        if real_syncfs is None:
            pytest.skip("no syncfs on this platform: every file is flushed on its own (tested below)")
        monkeypatch.setattr(files, "_syncfs", lambda: lambda fd: flushed.append(fd) or real_syncfs(fd))
        monkeypatch.setattr(files.os, "fsync", lambda fd: fsynced.append(fd))
        wanted = self.texts(tmp_path, 3 * SYNCFS_FROM)
        assert atomic_write_texts(wanted) == list(wanted)
        assert len(flushed) == 1 and not fsynced  # one file system
        for path, text in wanted.items():
            assert path.read_text(encoding="utf-8") == text
        assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]

    def test_without_syncfs_or_when_it_fails_each_file_is_flushed(self, tmp_path, monkeypatch):
        fsynced = []
        real_fsync = os.fsync
        monkeypatch.setattr(files.os, "fsync", lambda fd: fsynced.append(fd) or real_fsync(fd))
        for syncfs in (None, lambda fd: -1):
            fsynced.clear()
            monkeypatch.setattr(files, "_syncfs", lambda syncfs=syncfs: syncfs)
            wanted = self.texts(tmp_path, SYNCFS_FROM)
            atomic_write_texts(wanted)
            assert len(fsynced) == SYNCFS_FROM
            assert all(path.read_text(encoding="utf-8") == text for path, text in wanted.items())

    def test_a_failed_flush_replaces_no_file_and_leaves_no_temporary(self, tmp_path, monkeypatch):
        old = self.texts(tmp_path, SYNCFS_FROM)
        atomic_write_texts(old)
        monkeypatch.setattr(files, "_syncfs", lambda: None)
        monkeypatch.setattr(files.os, "fsync", disk_full)
        with pytest.raises(OSError, match="No space left"):
            atomic_write_texts({path: "new\n" for path in old})
        assert all(path.read_text(encoding="utf-8") == text for path, text in old.items())
        assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]

    def test_a_failed_write_midway_replaces_no_file(self, tmp_path, monkeypatch):
        old = self.texts(tmp_path, 4)
        atomic_write_texts(old)
        real_write, calls = os.write, []

        def fails_on_the_third(fd, data):
            calls.append(fd)
            if len(calls) == 3:
                disk_full()
            return real_write(fd, data)

        monkeypatch.setattr(files.os, "write", fails_on_the_third)
        with pytest.raises(OSError, match="No space left"):
            atomic_write_texts({path: "new\n" for path in old})
        assert all(path.read_text(encoding="utf-8") == text for path, text in old.items())
        assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
