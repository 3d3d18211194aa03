"""Vendor parsers: the seam where a second vendor's documents would go.

A vendor parser turns one page's rows into a :class:`~cc_perf_dagster.core.models.PageResult`
(:meth:`VendorParser.parse_page`, cached per page), says whether a page looks like its
vendor's at all (:meth:`VendorParser.detect`), and builds the document from page results
fed in page order (:meth:`VendorParser.assembler`). Adding a vendor means adding a package
beside ``creative_coop`` and registering its parser here; the pipeline looks parsers up by
name (:func:`get_vendor`) and never imports a vendor package itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cc_perf_dagster.core.models import Invoice, PageResult, Row


class DocumentBuilder(Protocol):
    """Builds one document from its page results, fed in page order."""

    def add(self, page: PageResult) -> None:
        """Take the next page's result."""
        ...

    def finish(self) -> Invoice:
        """The document, with its self-checks."""
        ...


class VendorParser(Protocol):
    """What the pipeline needs of one vendor's parser."""

    name: str
    unsupported_reason: str

    def parse_page(self, page: int, content_hash: str, rows: Sequence[Row]) -> PageResult:
        """One page's rows (top to bottom) as header facts and table records."""
        ...

    def detect(self, page: PageResult) -> bool:
        """Whether a page with text may belong to this vendor's documents."""
        ...

    def assembler(self, file: str, sha256: str, *, declared_pages: int | None = None) -> DocumentBuilder:
        """A builder for one document."""
        ...


DEFAULT_VENDOR = "creative_coop"
_VENDORS: dict[str, VendorParser] = {}


def register_vendor(parser: VendorParser) -> None:
    """Make a parser available under its name."""
    _VENDORS[parser.name] = parser


def get_vendor(name: str = DEFAULT_VENDOR) -> VendorParser:
    """The registered parser called ``name``.

    Raises:
        ValueError: No parser is registered under that name.
    """
    if name not in _VENDORS:
        raise ValueError(f"unknown vendor parser {name!r} (known: {', '.join(sorted(_VENDORS))})")
    return _VENDORS[name]


def _register_builtin() -> None:
    from cc_perf_dagster.core.vendors.creative_coop import PARSER

    register_vendor(PARSER)


_register_builtin()
