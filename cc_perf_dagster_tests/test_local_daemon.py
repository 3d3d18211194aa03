"""Files dropped into the incoming folder under a real ``dagster-daemon run``, on the local profile.

What ``make ui`` runs for the sensor, end to end: the ready-made definitions from
``workspace.yaml``, the daemon's sensor loop and its cursor in the SQLite home, the queued run
coordinator, a run worker per run. No timing is asserted (the figures are ``make bench``'s);
the deadline only keeps a broken daemon from hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from cc_perf_dagster.core.export import booking_csv
from cc_perf_dagster.core.extract import extract_invoice
from cc_perf_dagster.core.incoming import quarantine_folder
from cc_perf_dagster_tests.conftest import BAD_INVOICES, TEST_INVOICES
from cc_perf_dagster_tests.local_daemon import local_daemon

pytestmark = pytest.mark.slow

DEADLINE_S = 240
GOOD = ("CI004731586.pdf", "CS003837319.pdf")


def test_dropped_files_are_booked_once_and_a_bad_one_is_quarantined_through_the_daemon(tmp_path):
    with local_daemon(tmp_path) as daemon:
        daemon.wait_until(lambda: daemon.sensor_ticks() > 0, deadline_s=DEADLINE_S, what="the sensor's first tick")
        bad = daemon.incoming / "encrypted.pdf"
        shutil.copy(BAD_INVOICES / "encrypted.pdf", bad)
        hours_ago = time.time() - 7200
        os.utime(bad, (hours_ago, hours_ago))  # unchanged for long: quarantined, not held
        for name in GOOD:
            shutil.copy(TEST_INVOICES / name, daemon.incoming / name)
        keys = {name.removesuffix(".pdf") for name in GOOD}
        daemon.wait_until(lambda: keys <= set(daemon.booked()), deadline_s=DEADLINE_S, what="both invoices booked")
        ticks = daemon.sensor_ticks()
        daemon.wait_until(lambda: daemon.sensor_ticks() >= ticks + 2, deadline_s=DEADLINE_S, what="two more ticks")
        booked = daemon.booked()

    assert booked == {key: 1 for key in keys}  # each once: the later ticks requested nothing again
    for name in GOOD:
        rows = (daemon.storage / "assets" / "booking_rows" / f"{name.removesuffix('.pdf')}.csv").read_text()
        assert rows == booking_csv([extract_invoice(TEST_INVOICES / name)])  # what the core books from the file
    note = json.loads((quarantine_folder(daemon.incoming) / "encrypted.pdf.error.json").read_text())
    assert note["error"] == "invalid_document" and "password" in note["reason"]
    assert sorted(p.name for p in daemon.incoming.iterdir()) == sorted(GOOD)  # nothing else moved or lost
