"""The pdfium engine's structure pass: pages hashed and checked from the file's objects.

PDFium places the glyphs, but its API shows neither a page's raw content streams nor any sign
of a damaged one, so the pdfium engine hashes pages and checks their streams itself, with the
same :class:`~cc_perf_dagster.core.page_checks.PageChecks` as the pypdf engine. The objects
come from :mod:`~cc_perf_dagster.core.pdf_objects` (:class:`ObjectStructure`), which reads what
well-formed files hold exactly as pypdf does, without importing pypdf (the larger part of a
short command's time); where it cannot vouch for that (an encrypted file, a rebuilt
cross-reference table, a content stream no checksum vouches for, layers, form fields, a page
without text), :class:`Structure` asks pypdf's :class:`~cc_perf_dagster.core.pypdf_engine.PypdfDocument`
instead, for that page or the whole file. Either way a page hashes the same and is refused for
the same damage: the two readers share every check, and ``test_pdfium_structure`` compares them
on every PDF the tests hold.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from cc_perf_dagster.core.errors import DamagedPdfError
from cc_perf_dagster.core.models import TextRun
from cc_perf_dagster.core.page_box import Box
from cc_perf_dagster.core.page_checks import PageChecks
from cc_perf_dagster.core.pdf import Limits
from cc_perf_dagster.core.pdf_objects import Dictionary, Integer, ObjectReader, Reference, Unsupported
from cc_perf_dagster.core.pdf_values import NULL, Array, Page
from cc_perf_dagster.core.widgets import has_widgets

# What a page inherits from the page tree nodes above it (pypdf copies them into the page).
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


class ObjectStructure(PageChecks):
    """A document's pages as :mod:`~cc_perf_dagster.core.pdf_objects` reads them.

    Raises:
        Unsupported: On creation, and from any method: ask pypdf (see :class:`Structure`).
    """

    hides_layers = False
    _hides = None
    _encrypted = False

    def __init__(self, data: bytes, *, file: str, limits: Limits):
        self._file, self._limits = file, limits
        self._reader = ObjectReader(data)
        root = self._reader.trailer.get("/Root")
        self._root = root.get_object() if root is not None else None
        if not isinstance(self._root, Dictionary) or "/OCProperties" in self._root:
            raise Unsupported("no catalog, or layers (read by pypdf)")
        self._pages = pages_of(self._root)
        self.page_count = len(self._pages)
        self._start_checks()

    @property
    def declared_page_count(self) -> int | None:
        """The page tree's ``/Count``, as the pypdf engine reads it."""
        return page_tree_count(self._root)

    def _page(self, index: int) -> Any:
        page = self._pages[index]
        if has_widgets(page):
            raise Unsupported("form fields (read by pypdf)")
        return page

    def _contents_data(self, page: Any) -> bytes | None:
        """The decoded content, joined as pypdf's ``PageObject.get_contents()`` joins it."""
        contents = page.get("/Contents")
        contents = contents.get_object() if contents is not None else NULL
        if contents is NULL:
            return None
        if not isinstance(contents, list):
            if not hasattr(contents, "get_data"):
                raise Unsupported("content that is no stream")
            return contents.get_data()
        data = bytearray()
        for part in contents:
            part = part.get_object()
            if part is NULL:
                continue
            if not hasattr(part, "get_data"):
                raise Unsupported("a content array holding no stream")
            data += part.get_data()
            if not data or data[-1:] != b"\n":
                data += b"\n"
        return bytes(data)

    def _operations(self, stream: Any) -> list:
        raise Unsupported("content that no checksum vouches for is parsed by pypdf")

    def runs(self, index: int) -> list[TextRun]:  # noqa: D102 (never here)
        raise Unsupported("pages PDFium does not read are read by pypdf's interpreter")

    def draws_nothing(self, index: int) -> bool:  # noqa: D102 (never here)
        raise Unsupported("whether a page paints anything is told by pypdf's operators")

    def release(self, index: int) -> None:
        """Forget the page's decoded content streams (fonts, shared by pages, stay); nothing is read."""
        contents = self._pages[index].get("/Contents")
        if isinstance(contents, Reference):
            contents = self._reader.forget(contents.idnum)
        for part in contents if isinstance(contents, list) else ():
            if isinstance(part, Reference):
                self._reader.forget(part.idnum)


class Structure:
    """:class:`ObjectStructure` where it vouches for its reading, pypdf's reading elsewhere.

    A page that raises :class:`Unsupported` once is read by pypdf from then on (its hash is the
    same either way); a file it cannot open at all is pypdf's from the start.
    """

    def __init__(self, data: bytes, stream: BinaryIO, *, file: str, limits: Limits):
        self._stream, self._file, self._limits = stream, file, limits
        self._deferred: set[int] = set()
        self._slow: Any = None
        try:
            self._fast: ObjectStructure | None = ObjectStructure(data, file=file, limits=limits)
            self.page_count = self._fast.page_count
        except Unsupported:
            self._fast = None
            self.page_count = self._pypdf().page_count

    def _pypdf(self) -> Any:
        """The pypdf engine's reading of the document, opened when first needed."""
        if self._slow is None:
            from cc_perf_dagster.core.pypdf_engine import PypdfDocument

            document = PypdfDocument(self._stream, file=self._file, limits=self._limits)
            if self._fast is not None and document.page_count != self._fast.page_count:
                raise DamagedPdfError("damaged page tree, it reads with different page counts", file=self._file)
            self._slow = document
        return self._slow

    def _call(self, method: str, index: int) -> Any:
        if self._fast is not None and index not in self._deferred:
            try:
                return getattr(self._fast, method)(index)
            except Unsupported:
                self._deferred.add(index)
        return getattr(self._pypdf(), method)(index)

    @property
    def declared_page_count(self) -> int | None:
        """The page tree's ``/Count``."""
        if self._fast is not None:
            try:
                return self._fast.declared_page_count
            except Unsupported:
                pass  # pypdf says what it makes of it
        return self._pypdf().declared_page_count

    def content_hash(self, index: int) -> str:  # noqa: D102 (as PypdfDocument's)
        return self._call("content_hash", index)

    def check_content(self, index: int) -> None:  # noqa: D102
        self._call("check_content", index)

    def boxes(self, index: int) -> tuple[Box, Box]:  # noqa: D102
        return self._call("boxes", index)

    def needs_interpreter(self, index: int) -> bool:  # noqa: D102
        return self._call("needs_interpreter", index)

    def runs(self, index: int) -> list[TextRun]:  # noqa: D102
        return self._call("runs", index)

    def draws_nothing(self, index: int) -> bool:  # noqa: D102
        return self._call("draws_nothing", index)

    def invisible_text(self, index: int) -> bool:  # noqa: D102 (pages the interpreter read: pypdf's)
        return self._pypdf().invisible_text(index)

    def release(self, index: int) -> None:  # noqa: D102
        if self._fast is not None:
            self._fast.release(index)
        if self._slow is not None:
            self._slow.release(index)


def page_tree_count(root: Any) -> int:
    """The catalog's ``/Pages /Count``, read as the pypdf engine reads it: without walking the tree.

    Raises:
        Unsupported: No count that is a number of pages (pypdf says what it makes of it).
    """
    node = root
    for key in ("/Pages", "/Count"):
        node = node.get_object() if node is not None else None
        node = node.get(key) if isinstance(node, Dictionary) else None
    count = node.get_object() if node is not None else None
    if not isinstance(count, Integer) or count < 0:
        raise Unsupported("no usable /Count")
    return int(count)


def pages_of(root: Dictionary) -> list[Page]:
    """The catalog's pages in order, each with what it inherits, as pypdf flattens the page tree.

    Raises:
        Unsupported: A tree node that is neither ``/Pages`` with ``/Kids`` nor ``/Page``, a page
            given directly in ``/Kids``, a loop, a tree over 32 levels deep.
    """
    tree = root.get("/Pages")
    tree = tree.get_object() if tree is not None else None
    if not isinstance(tree, Dictionary):
        raise Unsupported("no page tree")
    found: list[Page] = []
    _walk(tree, {}, found, ())
    return found


def _walk(node: Dictionary, inherit: dict[str, Any], found: list[Page], path: tuple[int, ...]) -> None:
    if len(path) > 32 or id(node) in path:
        raise Unsupported("a page tree in a loop or too deep")
    kind = node.get("/Type")
    if kind == "/Page":
        page = Page(node)
        page.update((key, value) for key, value in inherit.items() if key not in page)
        found.append(page)
        return
    kids = node.get("/Kids")
    kids = kids.get_object() if kids is not None else None
    if kind != "/Pages" or not isinstance(kids, Array):
        raise Unsupported("a page tree node of an unusual kind")
    inherit = {**inherit, **{key: node[key] for key in _INHERITED if key in node}}  # resolved, as pypdf
    for kid in kids:
        child = kid.get_object() if isinstance(kid, Reference) else None
        if not isinstance(child, Dictionary):
            raise Unsupported("a page tree child that is no referenced dictionary")
        _walk(child, inherit, found, (*path, id(node)))
