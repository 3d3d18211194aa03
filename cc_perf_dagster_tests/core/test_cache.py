import logging
import multiprocessing
import os
import stat

import pytest

from cc_perf_dagster.core import cache as cache_module
from cc_perf_dagster.core.cache import MIN_KEY_LENGTH, CacheKeyError, PageCache, cache_key

KEY_ONE, KEY_TWO = b"1" * MIN_KEY_LENGTH, b"2" * MIN_KEY_LENGTH


def key(n) -> str:
    return cache_key("page", f"hash-{n}", "1")


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch):
    """Every test starts from the default: a key file beside the cache folder."""
    for name in ("CC_PERF_CACHE_KEY", "CC_PERF_CACHE_SECRET", "CC_PERF_CACHE_KEY_FILE", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)


class TestLevels:
    def test_miss_then_l1_hit(self, tmp_path):
        cache = PageCache(tmp_path)
        assert cache.get(key(1)) is None
        cache.put(key(1), {"v": 1})
        assert cache.get(key(1)) == {"v": 1}
        assert (cache.counters.misses, cache.counters.l1_hits, cache.counters.l2_hits) == (1, 1, 0)

    def test_another_process_sees_the_disk_level(self, tmp_path):
        PageCache(tmp_path).put(key(1), {"v": [1, 2]})
        fresh = PageCache(tmp_path)  # empty L1, same folder and secret
        assert fresh.get(key(1)) == {"v": [1, 2]}
        assert fresh.counters.l2_hits == 1
        assert fresh.get(key(1)) == {"v": [1, 2]}
        assert fresh.counters.l1_hits == 1

    def test_keys_depend_on_kind_identity_and_version(self):
        assert len({cache_key("page", "h", "1"), cache_key("doc", "h", "1"), cache_key("page", "h", "2")}) == 3

    def test_memory_only_cache(self):
        cache = PageCache(None, l1_items=2)
        for n in range(3):
            cache.put(key(n), n)
        assert cache.get(key(0)) is None  # least recently used went first
        assert cache.get(key(2)) == 2


class TestIntegrity:
    def test_flipped_byte_is_a_miss_and_the_entry_is_removed(self, tmp_path):
        PageCache(tmp_path).put(key(1), {"total": "38.40"})
        (path,) = (tmp_path / "entries").rglob("*.bin")
        data = bytearray(path.read_bytes())
        data[-3] ^= 0x01
        path.write_bytes(bytes(data))
        fresh = PageCache(tmp_path)
        assert fresh.get(key(1)) is None
        assert fresh.counters.corrupt == 1 and not path.exists()

    def test_truncated_entry_is_a_miss(self, tmp_path):
        PageCache(tmp_path).put(key(1), {"total": "38.40"})
        (path,) = (tmp_path / "entries").rglob("*.bin")
        path.write_bytes(path.read_bytes()[:20])
        assert PageCache(tmp_path).get(key(1)) is None

    def test_entry_moved_to_another_key_is_rejected(self, tmp_path):
        cache = PageCache(tmp_path)
        cache.put(key(1), {"v": 1})
        src = next((tmp_path / "entries").rglob("*.bin"))
        target = cache._path(key(2))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(src.read_bytes())
        assert PageCache(tmp_path).get(key(2)) is None

    def test_a_different_secret_cannot_read_entries(self, tmp_path):
        PageCache(tmp_path, secret=KEY_ONE).put(key(1), {"v": 1})
        other = PageCache(tmp_path, secret=KEY_TWO)
        assert other.get(key(1)) is None and other.counters.corrupt == 1


class TestKey:
    def test_key_file_is_beside_the_folder_owner_only_and_env_overrides_it(self, tmp_path, monkeypatch):
        root = tmp_path / "cache"
        PageCache(root).put(key(1), {"v": 1})
        key_file = tmp_path / "cache.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert len(key_file.read_bytes()) == 64
        assert not [p for p in root.rglob("*") if p.name.endswith(".key")]
        monkeypatch.setenv("CC_PERF_CACHE_KEY", "e" * 64)
        assert PageCache(root).get(key(1)) is None  # another key, entry rejected

    def test_key_file_in_the_dagster_home(self, tmp_path, monkeypatch):
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
        PageCache(tmp_path / "cache").put(key(1), 1)
        assert (tmp_path / "home" / "cc_perf_cache.key").is_file()

    def test_forged_entry_under_a_replaced_key_is_not_served(self, tmp_path):
        root = tmp_path / "cache"
        PageCache(root).put(key(1), {"unit_price": "2.40"})
        # Someone who can write the cache folder plants a key there and signs a forged entry.
        forger_key = b"f" * 64
        (root / "secret.key").write_bytes(forger_key)
        PageCache(root, secret=forger_key).put(key(1), {"unit_price": "2240.00"})
        reader = PageCache(root)
        assert reader.get(key(1)) is None and reader.counters.corrupt == 1

    @pytest.mark.parametrize("value", ["", "   ", "short-key"])
    def test_empty_or_short_key_in_the_environment_is_refused(self, tmp_path, monkeypatch, value):
        monkeypatch.setenv("CC_PERF_CACHE_KEY", value)
        with pytest.raises(CacheKeyError) as caught:
            PageCache(tmp_path / "cache").put(key(1), 1)
        assert "\n" not in str(caught.value) and "$CC_PERF_CACHE_KEY" in str(caught.value)
        assert not (tmp_path / "cache" / "entries").exists()

    def test_legacy_variable_is_still_read(self, tmp_path, monkeypatch):
        monkeypatch.setenv("CC_PERF_CACHE_SECRET", "x")
        with pytest.raises(CacheKeyError, match="CC_PERF_CACHE_SECRET"):
            PageCache(tmp_path / "cache").get(key(1))

    def test_short_key_given_in_code_is_refused(self, tmp_path):
        with pytest.raises(CacheKeyError, match="too short"):
            PageCache(tmp_path, secret=b"one")

    def test_empty_key_file_is_refused(self, tmp_path):
        (tmp_path / "cache.key").write_bytes(b"")
        with pytest.raises(CacheKeyError, match="empty"):
            PageCache(tmp_path / "cache").get(key(1))

    def test_key_path_that_is_a_directory_is_one_error_and_keeps_the_entries(self, tmp_path, caplog):
        root = tmp_path / "cache"
        writer = PageCache(root)
        for n in range(5):
            writer.put(key(n), n)
        (tmp_path / "cache.key").unlink()
        (tmp_path / "cache.key").mkdir()
        reader = PageCache(root)
        with pytest.raises(CacheKeyError, match="not a regular file") as caught:
            reader.get(key(0))
        assert len(str(caught.value).splitlines()) == 1
        with pytest.raises(CacheKeyError):
            reader.put(key(9), 9)
        assert reader.disk_usage()[0] == 5 and reader.counters.corrupt == 0
        assert not [r for r in caplog.records if r.levelno >= 30]

    def test_key_file_inside_the_cache_folder_is_refused(self, tmp_path):
        with pytest.raises(CacheKeyError, match="inside the cache folder"):
            PageCache(tmp_path, key_file=tmp_path / "secret.key").get(key(1))

    def test_failed_key_creation_leaves_no_short_key(self, tmp_path, monkeypatch):
        def disk_full(fd):
            raise OSError(28, "No space left on device")

        real_fsync = cache_module.os.fsync
        monkeypatch.setattr(cache_module.os, "fsync", disk_full)
        with pytest.raises(CacheKeyError, match="No space left"):
            PageCache(tmp_path / "cache").put(key(1), 1)
        assert sorted(p.name for p in tmp_path.iterdir()) == []
        monkeypatch.setattr(cache_module.os, "fsync", real_fsync)  # the disk has room again
        cache = PageCache(tmp_path / "cache")
        assert cache.put(key(1), 1) and len((tmp_path / "cache.key").read_bytes()) == 64


class FakeClock:
    """Seconds since the epoch that move only when a test moves them."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestBounds:
    def test_ttl_expires_entries_on_disk(self, tmp_path):
        clock = FakeClock()
        PageCache(tmp_path, ttl_s=60, clock=clock).put(key(1), {"v": 1})
        clock.now += 60
        assert PageCache(tmp_path, ttl_s=60, clock=clock).get(key(1)) == {"v": 1}  # exactly the TTL: still good
        clock.now += 1
        fresh = PageCache(tmp_path, ttl_s=60, clock=clock)
        assert fresh.get(key(1)) is None and fresh.counters.expired == 1
        assert fresh.disk_usage() == (0, 0)  # the expired entry is removed

    def test_ttl_expires_entries_in_memory(self):
        clock = FakeClock()
        cache = PageCache(None, ttl_s=60, clock=clock)
        cache.put(key(1), {"v": 1})
        clock.now += 59
        assert cache.get(key(1)) == {"v": 1}
        clock.now += 2
        assert cache.get(key(1)) is None

    def test_size_bound_evicts_least_recently_used(self, tmp_path):
        clock = FakeClock()
        cache = PageCache(tmp_path, max_bytes=10**9, clock=clock)
        for n in range(10):  # one entry a minute, each about 1.2 kB (random text does not compress)
            cache.put(key(n), {"pad": os.urandom(600).hex()})
            clock.now += 60
        size = cache.disk_usage()[1]
        assert PageCache(tmp_path, clock=clock).get(key(0)) is not None  # a hit from disk: key 0 is the newest now
        cache.max_bytes = size * 6 // 10  # room for about five of the ten after evicting to 90%
        removed = cache.evict()
        survivors = [n for n in range(10) if cache._path(key(n)).exists()]
        assert removed == 10 - len(survivors) and cache.counters.evictions == removed
        assert survivors == [0, *range(10 - len(survivors) + 1, 10)]  # key 0 and the newest writes
        assert cache.disk_usage()[1] <= int(cache.max_bytes * 0.9)

    def test_write_failure_never_raises(self, tmp_path, caplog):
        blocked = tmp_path / "file-not-folder"
        blocked.write_text("x")
        cache = PageCache(blocked)
        with caplog.at_level(logging.WARNING, logger="cc_perf_dagster.core.cache"):
            assert cache.put(key(1), {"v": 1}) is False
            assert cache.put(key(2), {"v": 2}) is False
        assert cache.counters.write_errors == 2
        assert cache.get(key(1)) == {"v": 1}  # L1 still serves it
        (warning,) = caplog.records  # once per cache, not once per page (a full disk: every page)
        assert warning.getMessage().startswith(f"cache write failed for {key(1)[:12]}: ")

    def test_writes_accounted_once_are_counted_at_the_end_and_the_bound_holds_then(self, tmp_path):
        cache = PageCache(tmp_path / "cache", max_bytes=10**9)
        with cache.accounted_once():
            for n in range(10):
                cache.put(key(n), {"pad": os.urandom(600).hex()})
            assert not (tmp_path / "cache" / "usage").exists()  # nothing counted yet: no lock taken per write
        entries, size = cache.disk_usage()
        assert entries == 10 and int((tmp_path / "cache" / "usage").read_text()) == size
        cache.max_bytes = size // 2
        with cache.accounted_once():
            cache.put(key(10), {"pad": os.urandom(600).hex()})
            assert cache.disk_usage()[0] == 11  # over the bound until the block ends
        assert cache.disk_usage()[1] <= int(cache.max_bytes * 0.9) and cache.counters.evictions > 0

    def test_clear(self, tmp_path):
        cache = PageCache(tmp_path)
        for n in range(3):
            cache.put(key(n), n)
        assert cache.clear() == 3
        assert cache.get(key(0)) is None and (tmp_path.parent / f"{tmp_path.name}.key").exists()
        assert cache.disk_usage() == (0, 0)


def _writer(root, start, count, shared):
    cache = PageCache(root)
    for n in range(start, start + count):
        cache.put(key(n), {"n": n, "pad": "y" * 500})
    for n in range(shared):
        cache.put(key(10_000 + n), {"n": 10_000 + n})


def test_concurrent_writers_same_and_different_keys(tmp_path):
    PageCache(tmp_path).put(key(-1), 0)  # create the key before the race
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), i * 100, 100, 50)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    reader = PageCache(tmp_path)
    assert all(reader.get(key(n)) == {"n": n, "pad": "y" * 500} for n in range(400))
    assert all(reader.get(key(10_000 + n)) == {"n": 10_000 + n} for n in range(50))
    assert reader.counters.corrupt == 0
    assert not list((tmp_path / "entries").rglob(".tmp-*"))


def _short_lived_writers(root, start, sessions):
    # Like step processes: each cache object writes a little (under 5% of the bound) and is gone.
    for session in range(sessions):
        cache = PageCache(root, max_bytes=100_000)
        for n in range(3):
            cache.put(key(start + session * 3 + n), {"pad": os.urandom(1100).hex()})


def test_size_bound_holds_across_processes(tmp_path):
    root = tmp_path / "cache"
    PageCache(root).check_key()  # create the key before the race
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_short_lived_writers, args=(str(root), i * 1000, 20)) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    cache = PageCache(root, max_bytes=100_000)
    entries, size = cache.disk_usage()
    assert 0 < size <= 100_000, size  # about 250 kB were written
    assert entries < 120


@pytest.mark.parametrize("value", [{"a": [1, "x", None, 2.5]}, [1, 2, 3], "text"])
def test_round_trip_json_values(tmp_path, value):
    PageCache(tmp_path).put(key(1), value)
    assert PageCache(tmp_path).get(key(1)) == value
