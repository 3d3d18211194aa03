"""Every example in the package's docstrings runs, from the repository's root (as ``make test`` does)."""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import cc_perf_dagster

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    info.name for info in pkgutil.walk_packages(cc_perf_dagster.__path__, "cc_perf_dagster.") if not info.ispkg
)


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_a_modules_docstrings_hold(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # examples name test invoices from the repository's root
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert failed == 0, f"{failed} example(s) in {name} do not hold (printed above)"


def test_examples_are_found():
    # (A module list that came out empty would let every example go untested.)
    found = sum(
        len(test.examples) for name in MODULES for test in doctest.DocTestFinder().find(importlib.import_module(name))
    )
    assert len(MODULES) > 50 and found > 30
