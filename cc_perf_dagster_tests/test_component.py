"""The project as a guest in someone else's Dagster project: the component, ``dg``, and ``Definitions.merge``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    FilesystemIOManager,
    asset,
    define_asset_job,
    in_process_executor,
)
from dagster.components.testing import create_defs_folder_sandbox

from cc_perf_dagster import CreativeCoopInvoicesComponent
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions
from cc_perf_dagster.resources import IO_MANAGER_KEY, PAGE_CACHE_KEY, SETTINGS_KEY, STORAGE_KEY
from cc_perf_dagster_tests.conftest import REPO, TEST_INVOICES

DG = Path(sys.executable).with_name("dg")
INVOICE = TEST_INVOICES / "CI004731586.pdf"


def test_dg_lists_the_component(tmp_path):
    done = subprocess.run(
        [str(DG), "list", "components", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    keys = {item["key"] for item in json.loads(done.stdout)["items"]}
    assert "cc_perf_dagster.CreativeCoopInvoicesComponent" in keys


class TestScaffoldedComponent:
    def test_the_scaffolded_defs_yaml_is_commented_and_loads(self, tmp_path, monkeypatch):
        monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))  # read through {{ env(...) }}
        with create_defs_folder_sandbox() as sandbox:
            defs_path = sandbox.scaffold_component(component_cls=CreativeCoopInvoicesComponent, defs_path="invoices")
            text = (defs_path / "defs.yaml").read_text()
            assert text.startswith("# Creative Co-op PDF invoices")
            assert "{{ env('CC_PERF_STORAGE', 'storage') }}" in text
            attributes = yaml.safe_load(text)["attributes"]
            assert attributes["incoming_folder"] == "incoming" and attributes["group_name"] == "invoices"
            with sandbox.load_component_and_build_defs(defs_path=defs_path) as (component, defs):
                assert isinstance(component, CreativeCoopInvoicesComponent)
                resources = defs.resources or {}
                assert resources[STORAGE_KEY].root == str(tmp_path / "storage")
                assert resources[PAGE_CACHE_KEY].root == str(tmp_path / "storage" / "cache")
                sensor = defs.resolve_sensor_def("incoming_invoices")
                assert sensor.job_name == PROCESS_JOB
                self._materialize_one(defs, tmp_path / "storage")

    def test_relative_paths_are_relative_to_the_components_folder_and_the_prefix_applies(self, tmp_path):
        attributes = {"storage_root": "data", "key_prefix": "acme/purchasing", "group_name": "purchasing"}
        with create_defs_folder_sandbox() as sandbox:
            defs_path = sandbox.scaffold_component(
                component_cls=CreativeCoopInvoicesComponent,
                defs_path="invoices",
                defs_yaml_contents={"type": "cc_perf_dagster.CreativeCoopInvoicesComponent", "attributes": attributes},
            )
            with sandbox.load_component_and_build_defs(defs_path=defs_path) as (_, defs):
                storage = (defs.resources or {})[STORAGE_KEY].root
                assert Path(storage) == (defs_path / "data").resolve()
                specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
                assert AssetKey(["acme", "purchasing", "invoice"]) in specs
                assert {spec.group_name for spec in specs.values()} == {"purchasing"}
                assert defs.resolve_job_def("acme_purchasing_process_invoices")
                self._materialize_one(defs, Path(storage), job="acme_purchasing_process_invoices")

    @staticmethod
    def _materialize_one(defs: Definitions, storage: Path, job: str = PROCESS_JOB) -> None:
        key = FileRegistry(storage / "registry").register(INVOICE).key
        with DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions("invoices", [key])
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=key)
            assert result.success
        assert json.loads((storage / "assets").rglob(f"invoice/{key}.json").__next__().read_text())["line_items"]


class TestMerge:
    def test_merges_into_a_project_with_its_own_executor_and_io_manager(self, tmp_path):
        @asset
        def their_asset() -> int:
            return 1

        theirs = Definitions(
            assets=[their_asset],
            jobs=[define_asset_job("their_job", [their_asset])],
            resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "theirs"))},
            executor=in_process_executor,
        )
        merged = Definitions.merge(theirs, build_definitions(storage_root=str(tmp_path / "storage")))
        jobs = {job.name: job for job in merged.get_repository_def().get_all_jobs()}
        assert {"their_job", "process_invoices", "extract_invoices", "refresh_summaries"} <= set(jobs)
        assert jobs["their_job"].executor_def.name == "in_process"  # theirs stays theirs
        assert jobs["process_invoices"].executor_def.name == "multiprocess_forkserver"
        assert isinstance(merged.resources["io_manager"], FilesystemIOManager)
        assert {STORAGE_KEY, PAGE_CACHE_KEY, SETTINGS_KEY, IO_MANAGER_KEY} <= set(merged.resources)
        graph = merged.resolve_asset_graph()
        assert AssetKey("their_asset") in graph.get_all_asset_keys()
        assert graph.get(AssetKey("booking_rows")).parent_keys == {AssetKey("invoice")}
        assert len(merged.resolve_all_job_defs()) == len(jobs)

    def test_two_prefixed_copies_merge_side_by_side(self, tmp_path):
        storage = str(tmp_path / "storage")
        merged = Definitions.merge(
            build_definitions(storage_root=storage, key_prefix="east"),
            build_definitions(storage_root=storage, key_prefix="west"),
        )
        names = {job.name for job in merged.resolve_all_job_defs()}
        assert {"east_process_invoices", "west_process_invoices"} <= names
        graph = merged.resolve_asset_graph()
        assert graph.get(AssetKey(["west", "invoice"])).parent_keys == {AssetKey(["west", "invoice_file"])}


def readme_snippet(title: str, language: str) -> str:
    """The first ``language`` code block under the README heading ``title``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {title}", 1)[1]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_route_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
    namespace: dict = {}
    exec(readme_snippet("Add to an existing Dagster project", "python"), namespace)
    defs = namespace["defs"]
    assert defs.resolve_job_def("process_invoices").executor_def.name == "multiprocess_forkserver"
    assert defs.resolve_job_def("my_job").executor_def.name == "in_process"


def test_the_readme_dagster_yaml_settings_are_the_shipped_homes_and_dagster_takes_them(tmp_path):
    import yaml
    from dagster import DagsterInstance

    from cc_perf_dagster.instance import dagster_yaml

    snippet = yaml.safe_load(readme_snippet("Add to an existing Dagster project", "yaml"))
    shipped = yaml.safe_load(dagster_yaml(tmp_path))
    assert snippet == {key: shipped[key] for key in snippet}
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home"), overrides=snippet) as instance:
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        assert (instance.run_retries_enabled, instance.run_retries_max_retries) == (True, 1)
        assert instance.run_retries_retry_on_asset_or_op_failure is False


DG_PROJECT = {
    "pyproject.toml": """\
[project]
name = "my_project"
version = "0.1.0"

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "my_project"
""",
    "src/my_project/__init__.py": "",
    "src/my_project/defs/__init__.py": "",
    "src/my_project/definitions.py": """\
from pathlib import Path

from dagster import definitions, load_from_defs_folder


@definitions
def defs():
    return load_from_defs_folder(path_within_project=Path(__file__).parent)
""",
}


@pytest.mark.slow
def test_the_readme_dg_route_scaffolds_into_a_dg_project_that_loads(tmp_path):
    project = tmp_path / "my_project"
    for name, text in DG_PROJECT.items():  # what `create-dagster project my_project` lays out
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    script = readme_snippet("Add to an existing Dagster project", "shell")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "PATH": f"{DG.parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project / "src"),  # an installed project needs no path; this one is not installed
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=project, capture_output=True, text=True, timeout=600,
        check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr
    text = (project / "src/my_project/defs/invoices/defs.yaml").read_text()
    assert yaml.safe_load(text)["type"] == "cc_perf_dagster.CreativeCoopInvoicesComponent"
