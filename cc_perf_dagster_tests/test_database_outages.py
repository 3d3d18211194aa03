"""Waiting out a PostgreSQL outage (``cc_perf_dagster.database_outages``), with a fake clock.

The real outage (a proxy refusing every process of a running cluster for 15 s) is in
``test_cluster_outages.py``.
"""

from __future__ import annotations

import pytest

from cc_perf_dagster.database_outages import DatabaseWaitError, connect_waiting, database_wait_s


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def refusing(times: int):
    calls = []

    def connect():
        calls.append(1)
        if len(calls) <= times:
            raise ConnectionRefusedError("refused")
        return "connection"

    return connect, calls


class TestConnectWaiting:
    def test_a_refused_connection_is_tried_again_doubling_the_delay_up_to_two_seconds(self):
        clock = FakeTime()
        connect, calls = refusing(6)
        assert connect_waiting(connect, OSError, 60, sleep=clock.sleep, clock=lambda: clock.now) == "connection"
        assert len(calls) == 7 and clock.slept == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]

    def test_past_the_wait_the_error_is_raised(self):
        clock = FakeTime()
        connect, calls = refusing(100)
        with pytest.raises(ConnectionRefusedError):
            connect_waiting(connect, OSError, 10, sleep=clock.sleep, clock=lambda: clock.now)
        assert sum(clock.slept) <= 10 and len(calls) == len(clock.slept) + 1

    def test_other_errors_are_not_retried(self):
        def broken():
            raise ValueError("bad password")

        with pytest.raises(ValueError, match="bad password"):
            connect_waiting(broken, OSError, 60)


class TestWaitSetting:
    def test_default_and_override(self):
        assert database_wait_s({}) == 60.0
        assert database_wait_s({"CC_PERF_DATABASE_WAIT_S": "0"}) == 0.0

    @pytest.mark.parametrize("text", ["soon", "-1", "nan"])
    def test_nonsense_is_refused(self, text):
        with pytest.raises(DatabaseWaitError, match="CC_PERF_DATABASE_WAIT_S"):
            database_wait_s({"CC_PERF_DATABASE_WAIT_S": text})
