"""``python -m benchmarks``: see :mod:`benchmarks.cli`."""

from benchmarks.cli import main

# The guard matters: processes started with spawn re-import this module as ``__mp_main__``.
if __name__ == "__main__":
    raise SystemExit(main())
