"""Services failing under a running cluster: the broker restarted, PostgreSQL refusing connections.

Needs PostgreSQL and Redis on loopback, and ``redis-server`` on the PATH for the broker's restart
(skipped with the reason where absent, failing under ``CI=true``). The broker that is restarted
is a ``redis-server`` of the test's own on a free loopback port, never the machine's shared one:
other tests and other people's runs use that one at the same moment, and a restart of it would
drop their queues (it keeps nothing on disk). PostgreSQL is never stopped: a loopback proxy in
front of it refuses connections for the outage, for every process of the cluster (the workers
write through the instance reference the coordinator hands them, which names the proxy).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, EventRecordsFilter

from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.instance import ensure_dagster_home
from cc_perf_dagster_tests.conftest import TEST_INVOICES, require_cluster_services
from cc_perf_dagster_tests.dagster_jobs import cluster_fan_out_job
from cc_perf_dagster_tests.local_cluster import PG, local_cluster, range_run

pytestmark = [pytest.mark.slow, pytest.mark.flaky(reruns=2)]

NAMES = ("CI004731586.pdf", "CS003837319.pdf", "CS003964075.pdf")


class RefusingProxy:
    """A loopback TCP proxy to PostgreSQL that can refuse connections for a while (an outage)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: the outage began
            server = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def refuse(self):
        """Refuse new connections (the port is closed); connections already open finish their statement.

        dagster-postgres opens a connection per read or write, so an open connection is one in
        use. Cutting those too would be a server restart, which fails the statement in flight
        and with it the step (see the README); what is tested here is the database refusing
        connections, as while it restarts or fails over behind an address that stays.
        """
        self.listener.close()

    def accept_again(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()


class RedisServer:
    """A ``redis-server`` of the test's own on a free loopback port, persisting its data (AOF) in ``folder``."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True)
        with socket.create_server(("127.0.0.1", 0)) as probe:
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.RedisError:
                assert time.monotonic() < deadline, (self.folder / "redis.log").read_text(errors="replace")
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def own_broker(tmp_path):
    require_cluster_services()
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs the broker restart test: redis-server is not on the PATH")
        pytest.skip("redis-server is not on the PATH")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _cluster(tmp_path, monkeypatch, **services):
    """Two workers on ``services`` (``local_cluster``'s broker or database URL), their variables set here."""
    with local_cluster(tmp_path, **services) as running:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        home = ensure_dagster_home(tmp_path / "home", export=False, profile="cluster")
        with DagsterInstance.from_config(str(home)) as instance:
            yield instance


def _disturbed_run(instance, disturb) -> str:
    """A range run of three invoices with ``disturb()`` called once the first batch step starts.

    Asserts what must hold whatever happened: the run succeeded, ``disturb`` was called, each step
    started once, each invoice and its booking rows were materialized exactly once.
    """
    storage = Path(os.environ["CC_PERF_STORAGE"])
    keys = [FileRegistry(storage / "registry").register(TEST_INVOICES / n).key for n in NAMES]
    instance.add_dynamic_partitions("invoices", keys)
    disturbed: list[str] = []

    def watch():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            for record in instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.STEP_START)):
                if "extract_page_batch" in (record.event_log_entry.step_key or ""):
                    disturb()
                    disturbed.append(record.event_log_entry.step_key)
                    return
            time.sleep(0.02)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        run_id, materialized = range_run(cluster_fan_out_job, instance, storage, keys)
    finally:
        thread.join()
    assert disturbed and materialized == sorted(keys)
    for asset in ("invoice", "booking_rows"):
        records = instance.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(asset))
        )
        assert sorted(r.event_log_entry.dagster_event.partition for r in records) == sorted(keys), asset
    started = Counter(
        r.event_log_entry.step_key
        for r in instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.STEP_START))
        if r.event_log_entry.run_id == run_id
    )
    assert started and set(started.values()) == {1}, started
    return run_id


def test_the_broker_restarted_mid_run_loses_nothing(own_broker, tmp_path, monkeypatch, cluster_env):
    # Redis (broker and result backend) stops while the batches run and is back 2 s later, its
    # queue and unacknowledged tasks read back from its append-only file. The workers reconnect
    # on their own; the coordinator's polls and the workers' result writes retry the lost
    # connection (result_backend_always_retry), so the run goes on, and the broker is left
    # holding no unacknowledged task (which it would hand out again after the visibility timeout).
    import redis

    def restart():
        own_broker.stop()
        time.sleep(2.0)
        own_broker.start()

    with _cluster(tmp_path, monkeypatch, broker=own_broker.url) as instance:
        _disturbed_run(instance, restart)
    broker = redis.Redis.from_url(own_broker.url)
    assert broker.hlen("unacked") == 0 and broker.llen("dagster") == 0


# 2 s: within dagster-postgres's own retries (5, from 0.2 s doubling: about 6 s in all).
# 15 s: past them; every process of the cluster waits for the database (CC_PERF_DATABASE_WAIT_S,
# 60 s by default: cc_perf_dagster.database_outages) instead of failing the step or the run.
@pytest.mark.parametrize("outage_s", [2.0, 15.0])
def test_postgresql_refusing_connections_mid_run_costs_time_not_the_run(tmp_path, monkeypatch, cluster_env, outage_s):
    require_cluster_services()
    proxy = RefusingProxy(int(PG.rsplit(":", 1)[1]))

    def outage():
        proxy.refuse()
        time.sleep(outage_s)
        proxy.accept_again()

    # Every process, the test's watcher included, reaches the database through the proxy only.
    through_proxy = f"{PG.rsplit(':', 1)[0]}:{proxy.port}/{{database}}"
    with _cluster(tmp_path, monkeypatch, database_url=through_proxy) as instance:
        _disturbed_run(instance, outage)
