"""Peers run beside this project's core on the same pages, as context (never a target's baseline).

invoice2data (https://github.com/invoice-x/invoice2data) is the template-based peer: text from
``pdftotext -layout`` (poppler), then regular expressions from a YAML template. Its template for
this document family is ``creative_coop.yml`` here, written as a user of that tool would write it.
It is in the ``bench`` extras; without it (or without ``pdftotext``) its rows are left empty.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

PEERS = Path(__file__).resolve().parent


def invoice2data_version() -> str | None:
    """The installed invoice2data release, or ``None`` when it (or ``pdftotext``) is missing."""
    if shutil.which("pdftotext") is None:
        return None
    try:
        import importlib.metadata

        return importlib.metadata.version("invoice2data")
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _templates() -> list:
    from invoice2data.extract.loader import read_templates

    return read_templates(str(PEERS))


def invoice2data_extract(path: Path) -> dict:
    """invoice2data in-process on one file, its text caches cleared first (as a new file finds them)."""
    import logging

    from invoice2data import extract_data
    from invoice2data.input import _cached_to_text, pdftotext

    # Its "no template matched" errors are expected on the files it cannot read; only its own
    # loggers are quietened (the root logger belongs to whoever runs this).
    logging.getLogger("invoice2data").setLevel(logging.CRITICAL)
    _cached_to_text.cache_clear()
    pdftotext._words.cache_clear()
    return extract_data(str(path), templates=_templates(), input_module=pdftotext) or {}


def invoice2data_command(path: Path, output: Path) -> None:
    """The ``invoice2data`` command on one file, this template only, its JSON written to ``output``."""
    command = shutil.which("invoice2data", path=str(Path(sys.executable).parent)) or "invoice2data"
    name = str(output.with_suffix(""))  # invoice2data adds the extension
    subprocess.run(
        [command, "--exclude-built-in-templates", "-t", str(PEERS), "-f", "json", "-o", name, str(path)],
        capture_output=True,
        check=True,
    )
