"""An IO manager that stores JSON and CSV files, one per partition, written atomically. No pickle.

* Partitioned asset outputs are ``{partition_key: value}`` dicts (so a run covering a range
  of partitions writes one file per partition): ``ROOT/assets/ASSET/KEY.json`` or ``.csv``.
* Unpartitioned asset outputs: ``ROOT/assets/ASSET.json`` or ``.csv``.
* Op outputs inside graphs (plans, batch reports): ``ROOT/steps/RUN/STEP/OUTPUT.json``.

A ``str`` value is stored as ``.csv`` text; anything else must be JSON-able and is stored as
``.json``. Loading a partitioned input returns ``{partition_key: value}`` for the partitions
that exist on disk; missing ones are logged and left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dagster import ConfigurableIOManager, InputContext, MetadataValue, OutputContext
from pydantic import Field

from cc_perf_dagster.core.files import atomic_write_text, atomic_write_texts
from cc_perf_dagster.resources import default_storage_root

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]]")


class JsonFileIOManager(ConfigurableIOManager):
    """Stores every value as a JSON or CSV file under ``root``; see the module docstring."""

    root: str | None = Field(default=None, description="Storage folder; default as InvoiceStorage.")

    @property
    def _base(self) -> Path:
        return Path(self.root) if self.root else default_storage_root()

    # --- paths -----------------------------------------------------------------------------

    def _asset_dir(self, asset_key_path: list[str]) -> Path:
        return self._base / "assets" / Path(*asset_key_path)

    def _step_path(self, identifier: list[str]) -> Path:
        return self._base / "steps" / Path(*(_UNSAFE.sub("_", part) for part in identifier)).with_suffix(".json")

    # --- output ----------------------------------------------------------------------------

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Write the value (one file per partition for partitioned assets)."""
        if not context.has_asset_key:
            _write(self._step_path(context.get_identifier()), obj)
            return
        folder = self._asset_dir(context.asset_key.path)
        if context.has_asset_partitions:
            if not isinstance(obj, dict):
                raise TypeError(
                    f"{context.asset_key.to_user_string()}: a partitioned output must be {{partition: value}}"
                )
            unknown = set(obj) - set(context.asset_partition_keys)
            if unknown:
                raise ValueError(
                    f"{context.asset_key.to_user_string()}: values for partitions not in this run: {unknown}"
                )
            # one flush to disk for the whole range (files.atomic_write_texts)
            atomic_write_texts({folder / f"{key}{_suffix(value)}": _text(value) for key, value in obj.items()})
            return
        path = folder.with_suffix(_suffix(obj))
        _write(path, obj)
        context.add_output_metadata({"path": MetadataValue.path(str(path)), "dagster/uri": path.resolve().as_uri()})

    # --- input -----------------------------------------------------------------------------

    def load_input(self, context: InputContext) -> Any:
        """Read the value(s) written by :meth:`handle_output`."""
        if not context.has_asset_key:
            return _read(self._step_path(context.upstream_output.get_identifier()))
        folder = self._asset_dir(context.asset_key.path)
        if context.has_asset_partitions:
            values = {}
            for key in context.asset_partition_keys:
                path = _existing(folder / key)
                if path is None:
                    context.log.warning(f"{context.asset_key.to_user_string()}[{key}]: no stored value; left out")
                    continue
                values[key] = _read(path)
            return values
        path = _existing(folder)
        if path is None:
            raise FileNotFoundError(f"{context.asset_key.to_user_string()}: nothing stored at {folder}.*")
        return _read(path)


def _suffix(value: Any) -> str:
    return ".csv" if isinstance(value, str) else ".json"


def _existing(stem: Path) -> Path | None:
    for suffix in (".json", ".csv"):
        candidate = stem.parent / f"{stem.name}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _text(value: Any) -> str:
    # Compact JSON: indenting would switch json to its pure-Python encoder (several times slower).
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def _write(path: Path, value: Any) -> None:
    atomic_write_text(path, _text(value))


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return text if path.suffix == ".csv" else json.loads(text)
