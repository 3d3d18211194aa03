"""`make bench`: performance figures, each a ratio against a baseline measured in the same run.

Run it as ``python -m benchmarks [--quick | --full] [--only SECTION ...] [--counts 10,100]
[--invoices N] [--no-report]`` from the repository root. Sections (``--only NAME`` runs one, or
several), one module each in ``benchmarks/sections/``:

    core       pages/s of the extractor against raw ``PdfPage.extract_text()`` on the same pages
               (the floor) and, for context, ``pdftotext -layout`` where it is installed.
    memory     peak resident memory of a whole extraction at 15, 150 and 1,500 pages, each in a
               fresh process; the curve must be flat.
    one        one 15-page invoice, cold then warm (same storage, so the page cache hits), through
               the adaptive design (cost-model batches, forkserver), the naive one (one step per
               page, spawn) and in-process: wall, CPU of the whole process tree, step peak memory.
    scale      10, 100, 200 and 500 invoices of 15 pages: range runs, one run per partition (two
               at a time) and a plain ``multiprocessing.Pool(2)`` script running the same core.
               One run per partition is measured at 500 only with ``--full``.
    cache      cold, warm, one page changed, renamed copy.
    breakdown  where the time of one Dagster run goes (run start, step start, compute, event
               writes, orchestrator), from the event log, along the run's critical path.
    arrivals   files dropped at once: sensor ticks and the runs they request, against Pool(2).
    cluster    200 invoices through one Celery worker and through two (PostgreSQL, Redis on
               loopback) against a multiprocess range run and Pool(2); per-event storage cost on
               PostgreSQL and SQLite, and DAGSTER_EVENT_BATCH_SIZE on and off. Skipped with the
               reason where the services are absent.

Writes ``benchmarks/results/<timestamp>.json``, then ``benchmarks/REPORT.md``, its plots and
``benchmarks/README-snippet.md`` (``benchmarks/report.py``), and prints the headline table.
Absolute times are context; the headline figures are the ratios.

Modules: ``harness`` (timing, fresh instances, the child-process protocol, results files),
``sections/*`` (one per section), ``regressions``, ``report``, ``pool_baseline`` (the Pool(2)
script), ``cli`` (options and the order of things).
"""
