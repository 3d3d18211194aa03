"""One module per benchmark section; each has ``NAME`` (for ``--only``), ``KEY`` (its key in the
results file) and ``run(options, workdir) -> dict``."""

from __future__ import annotations

from benchmarks.sections import arrivals, breakdown, cache, cluster, core, memory, one, scale

# In the order they run and appear in the results file.
SECTIONS = {module.NAME: module for module in (core, memory, one, scale, cache, breakdown, arrivals, cluster)}
