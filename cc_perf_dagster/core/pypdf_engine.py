"""The default text engine: pypdf parses the file, :mod:`~cc_perf_dagster.core.content_stream` places the words.

The page content hash and the structure checks are :class:`~cc_perf_dagster.core.page_checks.PageChecks`,
on pypdf's objects here.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, BinaryIO

from cc_perf_dagster.core.blank_page import draws_nothing
from cc_perf_dagster.core.content_stream import FontInfo, PageInterpreter, visible_words
from cc_perf_dagster.core.encryption import AES_UNAVAILABLE, aes_available, uses_aes
from cc_perf_dagster.core.errors import DamagedPdfError, EncryptedPdfError
from cc_perf_dagster.core.models import TextRun
from cc_perf_dagster.core.optional_content import hidden_groups, is_hidden
from cc_perf_dagster.core.page_box import page_boxes, within
from cc_perf_dagster.core.page_checks import PAGE_HASH_VERSION, PageChecks
from cc_perf_dagster.core.pdf import EngineDocument, Limits, library_version
from cc_perf_dagster.core.upright import upright_runs
from cc_perf_dagster.core.widgets import widget_appearances

log = logging.getLogger(__name__)

__all__ = ["PAGE_HASH_VERSION", "PypdfDocument", "PypdfEngine"]


class PypdfEngine:
    """The default engine: pypdf parses, :mod:`~cc_perf_dagster.core.content_stream` places the words."""

    name = "pypdf"

    @property
    def version(self) -> str:
        """The installed pypdf release."""
        return library_version("pypdf")

    def open(self, stream: BinaryIO, *, file: str, limits: Limits | None = None) -> EngineDocument:
        """Open ``stream`` with pypdf; see :class:`TextEngine`."""
        return PypdfDocument(stream, file=file, limits=limits or Limits())

    def declared_pages(self, stream: BinaryIO, *, file: str) -> int:
        """The page tree's ``/Count``, read from the trailer without loading a page object.

        The cross-reference table is read and an encrypted file decrypted as :meth:`open` does
        (the same errors); a page tree that hides pages shows only when the pages are read.

        Raises:
            DamagedPdfError: The structure cannot be read, or ``/Count`` is missing or not a count.
            EncryptedPdfError: The file cannot be decrypted without a password.
        """
        count = PypdfDocument(stream, file=file, limits=Limits(), load_pages=False).declared_page_count
        if count is None:
            raise DamagedPdfError("damaged PDF, its page tree declares no page count", file=file)
        return count


class PypdfDocument(PageChecks):
    """An open document as the pypdf engine reads it (see :class:`~cc_perf_dagster.core.pdf.EngineDocument`)."""

    def __init__(self, stream: BinaryIO, *, file: str, limits: Limits, load_pages: bool = True):
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, PyPdfError

        from cc_perf_dagster.core._pypdf_compat import keep_declared_lengths

        keep_declared_lengths()
        self._file = file
        self._limits = limits
        self._fonts: dict[Any, FontInfo | None] = {}
        self._invisible: set[int] = set()  # pages read from their invisible text (see invisible_text)
        try:
            self._reader = PdfReader(stream, strict=False)
            encrypted = self._reader.is_encrypted
        except DependencyError as exc:  # AES-256 is checked as the file opens
            raise EncryptedPdfError(AES_UNAVAILABLE, file=file) from exc
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise DamagedPdfError(f"damaged PDF, cannot read its structure ({exc})", file=file) from exc
        if encrypted:
            self._decrypt()
        self._start_checks()
        if not load_pages:  # only the declared count is wanted (see PypdfEngine.declared_pages)
            self.page_count = 0
            return
        try:
            self.page_count = len(self._reader.pages)
        except Exception as exc:  # pypdf raises many types on broken page trees
            raise DamagedPdfError(f"damaged PDF, cannot read its page tree ({exc})", file=file) from exc
        # Layers the default view hides (none in most documents): their content is not read.
        hidden = hidden_groups(self._reader.root_object)
        self.hides_layers = bool(hidden)
        self._hides = functools.partial(is_hidden, hidden=hidden) if hidden else None

    @property
    def _encrypted(self) -> bool:  # type: ignore[override]
        return self._reader.is_encrypted

    @property
    def _root(self) -> Any:  # type: ignore[override]
        return self._reader.root_object

    def _contents_data(self, page: Any) -> bytes | None:
        contents = page.get_contents()
        return contents.get_data() if contents is not None else None

    def _decrypt(self) -> None:
        """Open a file encrypted without a user password (permissions only), refuse any other.

        AES needs pypdf's crypto dependency (``cryptography``, installed with this package);
        where it is missing, pypdf would fail only on the first stream it decrypts, so the
        file is refused here, as encrypted, with what to install.
        """
        from pypdf.errors import DependencyError

        try:
            opened = self._reader.decrypt("")
        except DependencyError as exc:
            raise EncryptedPdfError(AES_UNAVAILABLE, file=self._file) from exc
        except Exception as exc:
            raise EncryptedPdfError(f"encrypted PDF, cannot decrypt it ({exc})", file=self._file) from exc
        if not opened:
            raise EncryptedPdfError("encrypted PDF, a password is required to open it", file=self._file)
        if uses_aes(self._reader.trailer.get("/Encrypt")) and not aes_available():
            raise EncryptedPdfError(AES_UNAVAILABLE, file=self._file)

    def _page(self, index: int) -> Any:
        try:
            return self._reader.pages[index]
        except Exception as exc:
            raise DamagedPdfError(f"damaged page ({exc})", file=self._file, page=index + 1) from exc

    def runs(self, index: int) -> list[TextRun]:
        """The page's words in upright page space."""
        page = self._page(index)
        interpreter = PageInterpreter(self._font, self._operations, self._limits.max_text_operators, self._hides)
        with self._reading(index):
            self._interpret(page, interpreter)
        words, invisible = visible_words(interpreter.runs, interpreter.hidden)
        if invisible:
            self._invisible.add(index)
        else:
            self._invisible.discard(index)
        media, shown = page_boxes(page)
        return upright_runs(within(words, shown), media)

    def invisible_text(self, index: int) -> bool:
        """Whether the last :meth:`runs` of the page read its invisible text (it shows none)."""
        return index in self._invisible

    def _interpret(self, page: Any, interpreter: PageInterpreter) -> None:
        contents = page.get("/Contents")
        contents = contents.get_object() if contents is not None else None
        if contents is not None:
            interpreter.run(self._operations(contents), page.get("/Resources"))
        for stream, resources, matrix in widget_appearances(page, self._form_resources(), self._hides):
            interpreter.run(self._operations(stream), resources, matrix, depth=1)  # filled-in form fields

    def draws_nothing(self, index: int) -> bool:
        """Whether page ``index`` is blank: it paints nothing and has no annotations (see ``blank_page``)."""
        page = self._page(index)
        with self._reading(index):
            return draws_nothing(page, self._operations)

    def _operations(self, stream: Any) -> list:
        from cc_perf_dagster.core.content_tokens import operations  # (imports pypdf)

        self._check_operator_count(stream)
        return operations(stream, self._reader)

    def _font(self, ref: Any) -> FontInfo | None:
        """The font behind a ``/Font`` entry, built once per document (fonts are shared by pages)."""
        key = (ref.idnum, ref.generation) if hasattr(ref, "idnum") else id(ref)
        if key in self._fonts:
            return self._fonts[key]
        from cc_perf_dagster.core._pypdf_compat import font_from_resource

        info = None
        try:
            font = ref.get_object()
            model = font_from_resource(font)
            if font.get("/Subtype") == "/Type3":
                matrix = [float(v) for v in font.get("/FontMatrix", [0.001, 0, 0, 0.001, 0, 0])]
                # FontMatrix maps glyph units to text space: it scales widths; the nominal
                # size stays the font size (only a stretched matrix changes the glyph height).
                aspect = abs(matrix[3] / matrix[0]) if matrix[0] else 1.0
                info = FontInfo(model, width_scale=matrix[0], height_scale=aspect)
            else:
                info = FontInfo(model)
        except Exception as exc:  # a broken font loses its text; the document checks see the gap
            log.debug("%s: unreadable font %s (%s)", self._file, ref, exc)
        if not isinstance(key, int):  # direct dictionaries are cached per page by the interpreter
            self._fonts[key] = info
        return info

    def release(self, index: int) -> None:
        """Drop the page's decoded content streams from pypdf's object cache."""
        # pypdf keeps every resolved object (decoded content streams included) for the
        # reader's lifetime; dropping the page's content streams keeps memory flat in the
        # page count. Shared objects (fonts) stay cached.
        from pypdf.generic import ArrayObject, IndirectObject

        try:
            page = self._page(index)
            raw = page.raw_get("/Contents") if "/Contents" in page else None
            targets = []
            if isinstance(raw, IndirectObject):
                targets.append(raw)
                raw = raw.get_object()
            if isinstance(raw, ArrayObject):
                targets.extend(ref for ref in raw if isinstance(ref, IndirectObject))
        except Exception:  # a damaged page: reading it raised already, releasing must not mask that
            return
        cache = self._reader.resolved_objects
        for ref in targets:
            cache.pop((ref.generation, ref.idnum), None)

    @property
    def declared_page_count(self) -> int | None:
        """The page tree's ``/Count``: how many pages the file says it has (``None`` if unreadable)."""
        return _page_tree_count(self._reader)


def _page_tree_count(reader: Any) -> int | None:
    """``/Root /Pages /Count`` of a pypdf reader; pypdf's own page count is the pages it can reach."""
    try:
        count = reader.trailer["/Root"]["/Pages"]["/Count"]
    except Exception:  # a broken page tree was reported when the pages were counted
        return None
    return int(count) if isinstance(count, int) and count >= 0 else None
