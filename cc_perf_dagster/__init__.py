"""cc-perf-dagster: Creative Co-op PDF invoices into booked line items, on Dagster.

The package is split in two:

* :mod:`cc_perf_dagster.core` reads PDFs, rebuilds rows from glyph positions, parses
  Creative Co-op documents, checks their arithmetic and exports them. It never imports
  Dagster, so it can be used (and tested) on its own.
* The Dagster wiring (assets, ops, resources, sensors) lives beside it and stays thin.

Importing this top-level package is cheap and does not import Dagster either: the Dagster
component, ``cc_perf_dagster.CreativeCoopInvoicesComponent``, is imported on first use.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["CreativeCoopInvoicesComponent", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the core (cc_perf_dagster.core) can be imported without Dagster.
    if name == "CreativeCoopInvoicesComponent":
        from cc_perf_dagster.component import CreativeCoopInvoicesComponent

        return CreativeCoopInvoicesComponent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # dg lists a registry module's components from dir(module).
    return sorted({*globals(), *__all__})
