"""Nightly backfills of every missing or stale invoice, through declarative automation.

At the cron tick (default 02:00 UTC), the automation-condition sensor requests every
``invoice`` partition that is missing, or stale since it was last materialized: its file's
data version (sha256) changed, or the parser's code version was bumped. ``booking_rows`` goes
along in the same backfill (which honours the assets' ``BackfillPolicy``: range runs of up to
100 invoices), and ``purchasing_sheet`` and ``performance_overview`` follow their upstream eagerly. Re-observing an
unchanged file changes nothing, so unchanged invoices are never requested.
"""

from collections.abc import Sequence

from dagster import (
    AssetsDefinition,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
)

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"


def nightly_refresh_condition(cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE) -> AutomationCondition:
    """Requested at each cron tick if missing, or if its code or an input changed since it last ran."""
    handled = AutomationCondition.newly_updated() | AutomationCondition.newly_requested()
    stale = (AutomationCondition.code_version_changed() | AutomationCondition.any_deps_updated()).since(handled)
    return (
        AutomationCondition.cron_tick_passed(cron, timezone)
        & (AutomationCondition.missing() | stale)
        & ~AutomationCondition.in_progress()
    ).with_label(f"nightly at '{cron}' {timezone}: missing or stale")


def with_nightly_refresh(
    invoice: AssetsDefinition,
    *followers: AssetsDefinition,
    cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
) -> Sequence[AssetsDefinition]:
    """The assets with their automation conditions set; ``followers`` refresh eagerly after their upstream.

    ``invoice`` holds the ``invoice`` asset (nightly) and ``booking_rows``, which follows it.
    """
    nightly = nightly_refresh_condition(cron, timezone)
    follow = nightly | AutomationCondition.any_deps_match(AutomationCondition.will_be_requested())
    return [
        invoice.map_asset_specs(
            lambda spec: spec.replace_attributes(
                automation_condition=follow if spec.key.path[-1] == "booking_rows" else nightly
            )
        ),
        *(
            asset.map_asset_specs(
                lambda spec: spec.replace_attributes(automation_condition=AutomationCondition.eager())
            )
            for asset in followers
        ),
    ]


def build_nightly_backfill_sensor(
    *,
    name: str = "nightly_backfills",
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    target: AssetSelection | None = None,
) -> AutomationConditionSensorDefinition:
    """The automation-condition sensor that evaluates the conditions (it launches backfills).

    ``target`` is what it evaluates (default: the ``invoices`` group); give this project's assets
    when they sit in a group with other assets of yours.
    """
    return AutomationConditionSensorDefinition(
        name,
        target=target if target is not None else AssetSelection.groups("invoices"),
        default_status=default_status,
        emit_backfills=True,
        description="Evaluates the nightly refresh: missing or stale invoices as one backfill per night.",
    )
