"""The front door for Dagster projects: ``CreativeCoopInvoicesComponent``, configured in a ``defs.yaml``.

Add it to a ``dg`` project with::

    dg scaffold defs cc_perf_dagster.CreativeCoopInvoicesComponent invoices

which writes ``defs/invoices/defs.yaml`` with every attribute explained. The component builds
the same definitions as :func:`cc_perf_dagster.definitions.build_definitions` (the factory the
ready-made code location uses): the executor sits on its jobs, the resources under keys of their
own (``cc_perf_*``), so it merges into a project with its own executor and IO manager.
Relative paths are relative to the folder of the ``defs.yaml``; ``{{ env.X }}`` reads an
environment variable (``{{ env('X', 'default') }}`` with a default).
"""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from dagster import (
    Component,
    ComponentLoadContext,
    Definitions,
    Resolvable,
    Resolver,
    Scaffolder,
    ScaffoldRequest,
    scaffold_component,
    scaffold_with,
)

from cc_perf_dagster.assets import GROUP
from cc_perf_dagster.core.pdf import DEFAULT_ENGINE
from cc_perf_dagster.definitions import build_definitions
from cc_perf_dagster.schedules import DEFAULT_CRON, DEFAULT_TIMEZONE

DEFS_YAML = """\
# Creative Co-op PDF invoices -> line items -> booking rows -> purchasing sheet (cc-perf-dagster).
# Relative paths are relative to this folder. "{{{{ env.NAME }}}}" reads an environment variable,
# "{{{{ env('NAME', 'default') }}}}" one with a default. Every attribute may be left out.
type: {type_name}
attributes:
  # Where invoices, booking rows and the file registry are stored (one file per invoice).
  # Left out: $CC_PERF_STORAGE, else $DAGSTER_HOME/cc_perf. Point it at a shared path for several machines.
  storage_root: "{{{{ env('CC_PERF_STORAGE', 'storage') }}}}"
  # The page cache (default: STORAGE_ROOT/cache); may be shared between machines.
  # cache_root: /shared/cc_perf_cache
  # The folder the sensor watches for new PDFs.
  incoming_folder: incoming
  # Step processes at once (also the most page batches worth fanning out).
  max_concurrent: 2
  # Text engine: pypdf, or pdfium (pip install 'cc-perf-dagster[pdfium]').
  engine: pypdf
  # When missing and stale invoices are processed again, and in which time zone.
  nightly_cron: "0 2 * * *"
  timezone: UTC
  # Whether the incoming-folder, nightly and rerun sensors start switched on.
  sensors_running: true
  # Put the asset keys under a prefix ("purchasing" or "acme/purchasing"); job and sensor
  # names then start with it too. Left out: invoice_file, invoice, booking_rows, ...
  # key_prefix: purchasing
  group_name: invoices
  # The purchasing sheet and the overview fail their freshness policy when not materialized
  # within this many minutes (null: no policy).
  freshness_minutes: 60
"""


class CreativeCoopInvoicesScaffolder(Scaffolder):
    """Writes a ``defs.yaml`` with every attribute of the component and what it does."""

    def scaffold(self, request: ScaffoldRequest) -> None:
        """A commented ``defs.yaml`` (or, for ``--format python``, Dagster's ``component.py``)."""
        if request.scaffold_format != "yaml" or request.append:
            scaffold_component(request, {"incoming_folder": "incoming"})
            return
        Path(request.target_path).mkdir(parents=True, exist_ok=True)
        (Path(request.target_path) / "defs.yaml").write_text(
            DEFS_YAML.format(type_name=request.type_name), encoding="utf-8"
        )


@scaffold_with(CreativeCoopInvoicesScaffolder)
@dataclass
class CreativeCoopInvoicesComponent(Component, Resolvable):
    """Creative Co-op PDF invoices read into line items and booked into a purchasing sheet.

    Assets ``invoice_file`` (one dynamic partition per PDF), ``invoice``, ``booking_rows``,
    ``purchasing_sheet`` and ``performance_overview``, with asset checks, the jobs
    ``process_invoices``, ``extract_invoices`` and ``refresh_summaries`` (each on its own
    multiprocess executor), an incoming-folder sensor, nightly backfills and reruns of failed
    ranges. Resources: ``cc_perf_storage``, ``cc_perf_page_cache``, ``cc_perf_settings`` and
    ``cc_perf_io_manager``.

    Example ``defs.yaml``::

        type: cc_perf_dagster.CreativeCoopInvoicesComponent
        attributes:
          storage_root: "{{ env.CC_PERF_STORAGE }}"
          incoming_folder: incoming
          key_prefix: purchasing
    """

    storage_root: Annotated[
        str | None,
        Resolver.default(description="Storage folder; relative to this folder. Default $CC_PERF_STORAGE."),
    ] = None
    cache_root: Annotated[
        str | None, Resolver.default(description="Page-cache folder; default STORAGE_ROOT/cache. May be shared.")
    ] = None
    incoming_folder: Annotated[
        str | None, Resolver.default(description="Folder the sensor watches; default $CC_PERF_INCOMING or ./incoming.")
    ] = None
    max_concurrent: Annotated[int, Resolver.default(description="Step processes at once.")] = 2
    engine: Annotated[str, Resolver.default(description="Text engine: pypdf or pdfium.")] = DEFAULT_ENGINE
    nightly_cron: Annotated[
        str, Resolver.default(description="When missing and stale invoices are processed again.")
    ] = DEFAULT_CRON
    timezone: Annotated[str, Resolver.default(description="Time zone of nightly_cron.")] = DEFAULT_TIMEZONE
    sensors_running: Annotated[bool, Resolver.default(description="Whether the sensors start switched on.")] = True
    key_prefix: Annotated[
        str | None, Resolver.default(description="Asset key prefix, '/' between parts (e.g. acme/purchasing).")
    ] = None
    group_name: Annotated[str, Resolver.default(description="The assets' group.")] = GROUP
    freshness_minutes: Annotated[
        int | None,
        Resolver.default(description="Freshness window of purchasing_sheet and the overview; null for none."),
    ] = 60

    def build_defs(self, context: ComponentLoadContext) -> Definitions:
        """The definitions of :func:`~cc_perf_dagster.definitions.build_definitions`, paths resolved here."""
        return build_definitions(
            storage_root=_under(context.path, self.storage_root),
            cache_root=_under(context.path, self.cache_root),
            incoming_folder=_under(context.path, self.incoming_folder),
            max_concurrent=self.max_concurrent,
            engine=self.engine,
            nightly_cron=self.nightly_cron,
            timezone=self.timezone,
            sensor_running=self.sensors_running,
            key_prefix=[part for part in (self.key_prefix or "").split("/") if part],
            group_name=self.group_name,
            freshness_window=timedelta(minutes=self.freshness_minutes) if self.freshness_minutes else None,
        )


def _under(folder: Path, path: str | None) -> str | None:
    """``path`` relative to ``folder`` (an absolute path stays as it is); ``None`` and ``""`` stay unset."""
    return str((Path(folder) / path).resolve()) if path else None
