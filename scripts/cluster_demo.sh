#!/usr/bin/env bash
# `make cluster-demo`: test_invoices through two Celery workers and PostgreSQL, then everything removed.
#
# Needs PostgreSQL and Redis on loopback (PGHOST/PGPORT/PGUSER, CC_PERF_DEMO_REDIS override them).
# Creates a fresh database, a shared storage root and a cache key in a temporary folder, starts
# WORKERS workers (each its own process group and working folder), runs `cc-perf process` on the
# cluster profile, and on any exit stops the workers, drops the database, empties the Redis
# database it used and removes the folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
workers="${WORKERS:-2}"
pghost="${PGHOST:-127.0.0.1}" pgport="${PGPORT:-5432}" pguser="${PGUSER:-postgres}"
redis="${CC_PERF_DEMO_REDIS:-redis://127.0.0.1:6379}"

work="$(mktemp -d "${TMPDIR:-/tmp}/cc_perf_cluster.XXXXXX")"
suffix="$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(4))')"
db="cc_perf_demo_$suffix"
# A Redis database of its own (2..15), so a second demo or the tests on the same server never share a queue.
redis_db="$("$venv/bin/python" -c 'import random; print(random.randint(2, 15))')"
pids=()
created_db=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ "$status" != 0 ]; then
        for log in "$work"/worker*/worker.log; do [ -f "$log" ] && tail -n 20 "$log"; done
    fi
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.2
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    if [ -n "$created_db" ]; then
        dropdb --if-exists --force -h "$pghost" -p "$pgport" -U "$pguser" "$db" || true
    fi
    "$venv/bin/python" -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()" "$redis/$redis_db" \
        2>/dev/null || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT INT TERM

createdb -h "$pghost" -p "$pgport" -U "$pguser" "$db"
created_db=1

export CC_PERF_PROFILE=cluster
export CC_PERF_DATABASE_URL="postgresql+psycopg2://$pguser@$pghost:$pgport/$db"
export CC_PERF_CELERY_BROKER="$redis/$redis_db"
export CC_PERF_CELERY_BACKEND="$redis/$redis_db"
export CC_PERF_STORAGE="$work/shared"
export CC_PERF_CLUSTER_SLOTS="$workers"
CC_PERF_CACHE_KEY="$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(32))')"
export CC_PERF_CACHE_KEY
mkdir -p "$CC_PERF_STORAGE"

echo "cluster demo: database $db, broker $CC_PERF_CELERY_BROKER, shared storage $CC_PERF_STORAGE, $workers workers"
for i in $(seq "$workers"); do
    mkdir -p "$work/worker$i"
    setsid "$repo/scripts/cluster_worker.sh" "$work/worker$i" "cc-perf-demo-$i@$suffix" 1 \
        >"$work/worker$i/worker.log" 2>&1 &
    pids+=("$!")
done

# A step no worker takes waits in the queue for ever: start only when every worker consumes it.
"$venv/bin/python" - "$workers" <<'EOF'
import os, sys, time

from celery import Celery

wanted, app = int(sys.argv[1]), Celery(broker=os.environ["CC_PERF_CELERY_BROKER"])
deadline = time.monotonic() + 120
# each worker consuming the queue (a ping can be answered before that)
while len(replies := [q for q in (app.control.inspect(timeout=1.0).active_queues() or {}).values() if q]) < wanted:
    if time.monotonic() > deadline:
        sys.exit(f"cluster demo: {len(replies)} of {wanted} workers answered within 120 s; see the worker logs")
print(f"cluster demo: {len(replies)} workers ready")
EOF

status=0
(cd "$repo" && "$venv/bin/cc-perf" process --dagster-home "$work/home" test_invoices) || status=$?

# Which worker ran how many steps (from the run's events in PostgreSQL).
DAGSTER_HOME="$work/home" "$venv/bin/python" -W ignore - <<'EOF' || true
from collections import Counter

from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

with DagsterInstance.get() as instance:
    records = instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.ENGINE_EVENT), limit=100_000)
    workers = Counter(
        str(entry.value)
        for record in records
        for label, entry in (record.event_log_entry.dagster_event.engine_event_data.metadata or {}).items()
        if label == "Celery worker"
    )
print("steps per worker: " + ", ".join(f"{name} {count}" for name, count in sorted(workers.items())))
EOF
exit "$status"
