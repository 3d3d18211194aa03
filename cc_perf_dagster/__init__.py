"""cc-perf-dagster: Creative Co-op PDF invoices into booked line items, on Dagster.

The package is split in two:

* :mod:`cc_perf_dagster.core` reads PDFs, rebuilds rows from glyph positions, parses
  Creative Co-op documents, checks their arithmetic and exports them. It never imports
  Dagster, so it can be used (and tested) on its own.
* The Dagster wiring (assets, ops, resources, sensors) lives beside it and stays thin.

Importing this top-level package is cheap and does not import Dagster either.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
