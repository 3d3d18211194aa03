#!/usr/bin/env bash
# One Celery worker of the cluster profile, in the foreground (README "Running on several machines").
#
#   scripts/cluster_worker.sh WORKDIR [NAME] [CONCURRENCY]
#
# Reads the cluster's environment (CC_PERF_STORAGE, CC_PERF_CACHE_KEY, CC_PERF_DATABASE_URL,
# CC_PERF_CELERY_BROKER, CC_PERF_CELERY_BACKEND); WORKDIR becomes the worker's working folder and
# Dagster home (its dagster.yaml points at the cluster's database). Run it on every worker host,
# from a checkout whose .venv has the cluster extra, with the PDFs and the storage root mounted
# at the same paths as on the host that launches runs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
workdir="${1:?usage: cluster_worker.sh WORKDIR [NAME] [CONCURRENCY]}"
name="${2:-cc-perf-$(hostname)-$$}"
concurrency="${3:-1}"

export CC_PERF_PROFILE=cluster
export PATH="$venv/bin:$PATH"  # dagster-celery starts `celery` from PATH
export DAGSTER_HOME="$workdir/home"
mkdir -p "$DAGSTER_HOME"
cd "$workdir"
# Refuses a missing storage root or cache key in one line, then renders the worker's home and config.
"$venv/bin/python" -c "from cc_perf_dagster.profiles import check_cluster_environment as c; c()"
# Writes the worker's home and opens its instance once: the first worker on a fresh database
# creates Dagster's tables, under a database lock so that workers starting together do not race.
"$venv/bin/python" -m cc_perf_dagster.instance >/dev/null
"$venv/bin/python" -m cc_perf_dagster.profiles worker-yaml > worker.yaml
# -i: imported before the pool forks, so every step starts with the definitions loaded.
exec "$venv/bin/dagster-celery" worker start -A dagster_celery.app -y worker.yaml -n "$name" \
    -i cc_perf_dagster.definitions -l WARNING -- --concurrency "$concurrency"
