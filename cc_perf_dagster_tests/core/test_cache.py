import multiprocessing
import os
import stat
import time

import pytest

from cc_perf_dagster.core.cache import PageCache, cache_key


def key(n) -> str:
    return cache_key("page", f"hash-{n}", "1")


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
        PageCache(tmp_path, secret=b"one").put(key(1), {"v": 1})
        other = PageCache(tmp_path, secret=b"two")
        assert other.get(key(1)) is None and other.counters.corrupt == 1

    def test_secret_file_is_owner_only_and_env_overrides_it(self, tmp_path, monkeypatch):
        monkeypatch.delenv("CC_PERF_CACHE_SECRET", raising=False)
        PageCache(tmp_path).put(key(1), {"v": 1})
        mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
        assert mode == 0o600
        monkeypatch.setenv("CC_PERF_CACHE_SECRET", "from-the-environment")
        assert PageCache(tmp_path).get(key(1)) is None  # other secret, entry rejected


class TestBounds:
    def test_ttl_expires_entries(self, tmp_path):
        cache = PageCache(tmp_path, ttl_s=0.05)
        cache.put(key(1), {"v": 1})
        time.sleep(0.1)
        fresh = PageCache(tmp_path, ttl_s=0.05)
        assert fresh.get(key(1)) is None and fresh.counters.expired == 1

    def test_size_bound_evicts_least_recently_used(self, tmp_path):
        big = "x" * 2000  # compresses; use varied text so entries keep a size
        cache = PageCache(tmp_path, max_bytes=10_000)
        for n in range(40):
            cache.put(key(n), {"blob": f"{big}{n}" + os.urandom(600).hex()})
            if n == 0:
                keep = cache._path(key(0))
            os.utime(keep)  # key 0 is used all the time
        cache.evict()
        entries, size = cache.disk_usage()
        assert size <= 10_000 and entries < 40
        assert cache.counters.evictions > 0
        assert keep.exists()

    def test_write_failure_never_raises(self, tmp_path):
        blocked = tmp_path / "file-not-folder"
        blocked.write_text("x")
        cache = PageCache(blocked)
        assert cache.put(key(1), {"v": 1}) is False
        assert cache.counters.write_errors == 1
        assert cache.get(key(1)) == {"v": 1}  # L1 still serves it

    def test_clear(self, tmp_path):
        cache = PageCache(tmp_path)
        for n in range(3):
            cache.put(key(n), n)
        assert cache.clear() == 3
        assert cache.get(key(0)) is None and (tmp_path / "secret.key").exists()


def _writer(root, start, count, shared):
    cache = PageCache(root)
    for n in range(start, start + count):
        cache.put(key(n), {"n": n, "pad": "y" * 500})
    for n in range(shared):
        cache.put(key(10_000 + n), {"n": 10_000 + n})


def test_concurrent_writers_same_and_different_keys(tmp_path):
    PageCache(tmp_path).put(key(-1), 0)  # create the secret before the race
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


@pytest.mark.parametrize("value", [{"a": [1, "x", None, 2.5]}, [1, 2, 3], "text"])
def test_round_trip_json_values(tmp_path, value):
    PageCache(tmp_path).put(key(1), value)
    assert PageCache(tmp_path).get(key(1)) == value
