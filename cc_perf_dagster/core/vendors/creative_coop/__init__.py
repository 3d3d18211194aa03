"""Creative Co-op order confirmations (``CS…``) and invoices (``CI…``).

Split by job: :mod:`.patterns` (what words and rows look like), :mod:`.rows` (a page's rows
to records), :mod:`.header` (numbers, dates, table columns), :mod:`.items` (records to line
items), :mod:`.pricing` (billed quantity and prices) and :mod:`.document` (the two stages
together); dates are read by :mod:`cc_perf_dagster.core.dates`.
"""

from __future__ import annotations

from collections.abc import Sequence

from cc_perf_dagster.core.models import PageResult, Row
from cc_perf_dagster.core.vendors.creative_coop.cells import join_lines
from cc_perf_dagster.core.vendors.creative_coop.document import (
    DocumentAssembler,
    assemble,
    looks_unsupported,
    parse_page,
)
from cc_perf_dagster.core.vendors.creative_coop.patterns import NOT_CREATIVE_COOP

__all__ = [
    "NOT_CREATIVE_COOP",
    "PARSER",
    "CreativeCoopParser",
    "DocumentAssembler",
    "assemble",
    "join_lines",
    "looks_unsupported",
    "parse_page",
]


class CreativeCoopParser:
    """The Creative Co-op parser behind the :class:`~cc_perf_dagster.core.vendors.VendorParser` seam."""

    name = "creative_coop"
    unsupported_reason = NOT_CREATIVE_COOP

    def parse_page(self, page: int, content_hash: str, rows: Sequence[Row]) -> PageResult:
        """See :func:`.document.parse_page`."""
        return parse_page(page, content_hash, rows)

    def detect(self, page: PageResult) -> bool:
        """A page with text that shows a CS/CI number or the vendor's name."""
        return not looks_unsupported(page)

    def assembler(self, file: str, sha256: str, *, declared_pages: int | None = None) -> DocumentAssembler:
        """See :class:`.document.DocumentAssembler`."""
        return DocumentAssembler(file, sha256, declared_pages=declared_pages)


PARSER = CreativeCoopParser()
