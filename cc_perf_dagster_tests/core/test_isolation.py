"""The core never imports Dagster: proven in a fresh interpreter."""

import subprocess
import sys

from cc_perf_dagster_tests.conftest import TEST_INVOICES

CODE = """
import sys, pkgutil, importlib
import cc_perf_dagster.core as core
for module in pkgutil.walk_packages(core.__path__, "cc_perf_dagster.core."):
    importlib.import_module(module.name)
import cc_perf_dagster.cli
core.extract_invoice(sys.argv[1])
assert "dagster" not in sys.modules, sorted(m for m in sys.modules if m.startswith("dagster"))
print("ok")
"""


def test_core_and_extract_cli_run_without_importing_dagster():
    pdf = TEST_INVOICES / "CI004848705.pdf"
    done = subprocess.run([sys.executable, "-c", CODE, str(pdf)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
