"""The resources: where storage resolves, the cache each process gets, what the settings hand the core."""

from __future__ import annotations

import pytest

from cc_perf_dagster.core.cache import CacheKeyError, cache_key
from cc_perf_dagster.core.pdf import Limits
from cc_perf_dagster.core.planning import CostModel
from cc_perf_dagster.resources import ExtractionSettings, InvoiceStorage, PageCacheResource, default_storage_root
from cc_perf_dagster_tests.conftest import TEST_INVOICES

KEY = cache_key("page", "some-page", "1")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in (
        "CC_PERF_STORAGE",
        "DAGSTER_HOME",
        "CC_PERF_CACHE_KEY",
        "CC_PERF_CACHE_SECRET",
        "CC_PERF_CACHE_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


class TestStorage:
    def test_the_root_is_the_variable_else_the_dagster_home_else_the_working_folder(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert default_storage_root() == tmp_path / ".cc_perf"
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
        assert default_storage_root() == tmp_path / "home" / "cc_perf"
        monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "shared"))
        assert InvoiceStorage().path == tmp_path / "shared"
        assert InvoiceStorage(root=str(tmp_path / "mine")).path == tmp_path / "mine"

    def test_the_registry_lives_in_the_storage_and_persists(self, tmp_path):
        pdf = TEST_INVOICES / "CI004731586.pdf"
        entry = InvoiceStorage(root=str(tmp_path)).registry().register(pdf)
        again = InvoiceStorage(root=str(tmp_path)).registry().refresh(entry.key)
        assert again is not None and (again.path, again.sha256) == (entry.path, entry.sha256)
        assert list((tmp_path / "registry").iterdir())


class TestPageCache:
    def test_the_disk_level_defaults_to_the_storage_and_is_shared_between_processes(self, tmp_path, monkeypatch):
        monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
        PageCacheResource().get_cache().put(KEY, {"v": 1})
        assert (tmp_path / "storage" / "cache" / "entries").is_dir()
        other_process = PageCacheResource()  # a fresh resource: a fresh in-process level
        assert other_process.get_cache().get(KEY) == {"v": 1}
        assert other_process.get_cache().counters.l2_hits == 1

    def test_one_cache_object_per_resource(self, tmp_path):
        resource = PageCacheResource(root=str(tmp_path / "cache"))
        assert resource.get_cache() is resource.get_cache()

    def test_disabled_keeps_only_the_in_process_level(self, tmp_path):
        cache = PageCacheResource(root=str(tmp_path / "cache"), enabled=False).get_cache()
        cache.put(KEY, 1)
        assert cache.get(KEY) == 1 and cache.root is None and not (tmp_path / "cache").exists()

    def test_bounds_and_key_settings_reach_the_cache(self, tmp_path, monkeypatch):
        monkeypatch.setenv("MY_CACHE_KEY", "k" * 40)
        cache = PageCacheResource(
            root=str(tmp_path / "cache"), max_bytes=1234, ttl_s=5.0, secret_env_var="MY_CACHE_KEY"
        ).get_cache()
        assert (cache.max_bytes, cache.ttl_s) == (1234, 5.0)
        assert not list(tmp_path.glob("*.key"))  # the key came from the variable: no key file made

    def test_a_refused_key_fails_when_the_cache_is_made(self, tmp_path, monkeypatch):
        monkeypatch.setenv("CC_PERF_CACHE_KEY", "short")
        with pytest.raises(CacheKeyError, match="too short"):
            PageCacheResource(root=str(tmp_path / "cache")).get_cache()

    def test_the_key_file_setting_is_used(self, tmp_path):
        PageCacheResource(root=str(tmp_path / "cache"), key_file=str(tmp_path / "keys" / "k.key")).get_cache()
        assert len((tmp_path / "keys" / "k.key").read_bytes()) == 64


class TestExtractionSettings:
    def test_the_limits_and_cost_model_the_core_gets(self):
        settings = ExtractionSettings(
            max_pages=7, max_bytes=1000, max_text_operators=50, max_seconds_per_invoice=3.0,
            step_overhead_s=0.5, page_cost_s=0.1, max_concurrent=4, pages_per_batch=3,
        )  # fmt: skip
        assert settings.limits() == Limits(max_bytes=1000, max_pages=7, max_text_operators=50, max_seconds=3.0)
        assert settings.cost_model() == CostModel(0.5, 0.1, 4, 3)

    def test_defaults_are_the_cores_defaults(self):
        assert ExtractionSettings().limits() == Limits()
        assert ExtractionSettings().cost_model() == CostModel()

    def test_the_engine_by_name(self, engine):
        assert ExtractionSettings(engine=engine).text_engine().name == engine

    def test_an_unknown_engine_is_refused(self):
        with pytest.raises(ValueError, match="nonsense"):
            ExtractionSettings(engine="nonsense").text_engine()
