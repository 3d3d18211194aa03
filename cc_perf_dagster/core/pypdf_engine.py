"""The default text engine: pypdf parses the file, :mod:`~cc_perf_dagster.core.content_stream` places the words.

Page content hash:
    ``sha256`` over a version tag, the page's MediaBox and /Rotate, the page's content
    streams after decoding (concatenated in order), and, for each font resource and each
    form XObject in name order, a canonical rendering of the object with indirect references
    resolved, stream data hashed, /ToUnicode and /Differences included and embedded font
    programs (/FontFile*) left out (:func:`~cc_perf_dagster.core.canonical.canonical`); then
    the marked-content property lists (``/Properties``: ``/ActualText``, layers) and whether
    the document's default view hides each layer a property list or form names. These are
    exactly the inputs that decide which text lands where. Object numbers are not hashed, so
    the same page in an otherwise re-written file hashes the same.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from cc_perf_dagster.core.blank_page import draws_nothing
from cc_perf_dagster.core.canonical import canonical
from cc_perf_dagster.core.content_stream import (
    FontInfo,
    PageInterpreter,
    TooManyOperatorsError,
    UnreadableTextError,
    check_fonts_defined,
    content_data,
    visible_words,
)
from cc_perf_dagster.core.encryption import AES_UNAVAILABLE, aes_available, uses_aes
from cc_perf_dagster.core.errors import (
    DamagedPdfError,
    DocumentTooLargeError,
    EncryptedPdfError,
)
from cc_perf_dagster.core.fonts import damaged_font_streams, page_forms, uses_type3_fonts
from cc_perf_dagster.core.models import TextRun
from cc_perf_dagster.core.optional_content import hidden_groups, is_hidden
from cc_perf_dagster.core.page_box import Box, page_boxes, within
from cc_perf_dagster.core.pdf import EngineDocument, Limits, library_version
from cc_perf_dagster.core.stream_check import check_page_streams, checksummed, damaged_objects_raise, stream_damage
from cc_perf_dagster.core.upright import upright_runs
from cc_perf_dagster.core.widgets import has_widgets, widget_appearances

log = logging.getLogger(__name__)


PAGE_HASH_VERSION = b"cc-perf-page-hash-v3"


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


class PypdfDocument:
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
        self._font_hashes: dict[Any, str] = {}
        self._streams: dict[Any, str | None] = {}  # fonts' streams: their damage, if any
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

    def content_hash(self, index: int) -> str:
        """The page's content hash (see the module docstring); a page read only in part fails here."""
        # Every stream the text depends on (contents, form XObjects, fonts' /ToUnicode) is
        # decoded here first, so this is where a stream pypdf could only partly decode shows.
        page = self._page(index)
        digest = hashlib.sha256(PAGE_HASH_VERSION)
        with damaged_objects_raise(self._file, index + 1):
            self._hash_page(page, digest, index)
        return digest.hexdigest()

    def _hash_page(self, page: Any, digest: Any, index: int) -> None:
        try:
            digest.update(repr(page_boxes(page)).encode())  # what is read depends on the crop box too
            digest.update(repr(page.get("/Rotate", 0)).encode())
            check_page_streams(page, self._file, index, encrypted=self._reader.is_encrypted, damage=self._stream_damage)
            contents = page.get_contents()
            if contents is not None:
                digest.update(contents.get_data())
            resources = page.get("/Resources")
            resources = resources.get_object() if resources is not None else {}
            fonts = resources.get("/Font")
            if fonts is not None:
                fonts = fonts.get_object()
                for name in sorted(fonts):
                    digest.update(name.encode())
                    digest.update(self._font_hash(fonts.raw_get(name)).encode())
            xobjects = resources.get("/XObject")
            if xobjects is not None:  # form XObjects carry text too (images do not)
                xobjects = xobjects.get_object()
                for name in sorted(xobjects):
                    if xobjects[name].get("/Subtype") == "/Form":
                        digest.update(name.encode())
                        digest.update(self._font_hash(xobjects.raw_get(name)).encode())
                        digest.update(self._layer_state(dict.get(xobjects[name], "/OC")))
            properties = resources.get("/Properties")
            if properties is not None:  # /ActualText spans and layers named by the content
                properties = properties.get_object()
                for name in sorted(properties):
                    digest.update(f"{name}={canonical(properties.raw_get(name))}".encode())
                    digest.update(self._layer_state(properties.raw_get(name)))
            for stream, own, matrix in widget_appearances(page, self._form_resources(), self._hides):
                shared = "" if dict.get(stream, "/Resources") is not None else canonical(own)
                digest.update(f"widget{matrix}={canonical(stream)}{shared}".encode())
        except DamagedPdfError:
            raise
        except Exception as exc:
            raise DamagedPdfError(f"damaged page content ({exc})", file=self._file, page=index + 1) from exc

    def _layer_state(self, reference: Any) -> bytes:
        """Whether the document's default view hides this layer: the same page reads otherwise."""
        if reference is None or self._hides is None:
            return b""
        return b"hidden" if self._hides(reference) else b"shown"

    def _font_hash(self, ref: Any) -> str:
        key = (ref.idnum, ref.generation) if hasattr(ref, "idnum") else None
        if key is not None and key in self._font_hashes:
            return self._font_hashes[key]
        value = hashlib.sha256(canonical(ref).encode()).hexdigest()
        if key is not None:
            self._font_hashes[key] = value
        return value

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

    @contextmanager
    def _reading(self, index: int) -> Iterator[None]:
        """What goes wrong while page ``index`` is read, as the one-line error it is (naming the page)."""
        try:
            with damaged_objects_raise(self._file, index + 1):
                yield
        except TooManyOperatorsError as exc:
            raise DocumentTooLargeError(f"too large: {exc}", file=self._file, page=index + 1) from exc
        except DamagedPdfError:
            raise
        except UnreadableTextError as exc:
            raise DamagedPdfError(f"damaged page: {exc}", file=self._file, page=index + 1) from exc
        except Exception as exc:
            raise DamagedPdfError(f"cannot read the page's text ({exc})", file=self._file, page=index + 1) from exc

    def draws_nothing(self, index: int) -> bool:
        """Whether page ``index`` is blank: it paints nothing and has no annotations (see ``blank_page``)."""
        page = self._page(index)
        with self._reading(index):
            return draws_nothing(page, self._operations)

    def needs_interpreter(self, index: int) -> bool:
        """Whether PDFium reads page ``index`` otherwise: hidden layers, form fields, Type 3, a font stream cut."""
        page = self._page(index)
        with self._reading(index):
            resources = page.get("/Resources")
            return (
                self.hides_layers
                or has_widgets(page)
                or uses_type3_fonts(resources)
                or any(damaged_font_streams(resources, self._stream_damage))
            )

    def _stream_damage(self, stream: Any) -> str | None:
        """What shows a font's stream is not whole (``stream_damage``), once per document."""
        key = (stream.idnum, stream.generation) if hasattr(stream, "idnum") else None
        if key is None or key not in self._streams:
            try:
                found = stream_damage(stream.get_object(), encrypted=self._reader.is_encrypted)
            except Exception as exc:  # an object that cannot be read is no whole stream
                found = f"it cannot be read ({exc})"
            if key is None:
                return found
            self._streams[key] = found
        return self._streams[key]

    def _form_resources(self) -> Any:
        form = self._reader.root_object.get("/AcroForm")
        resources = form.get_object().get("/DR") if form is not None else None
        return resources.get_object() if resources is not None else None

    def _operations(self, stream: Any) -> list:
        from pypdf.generic import ContentStream

        self._check_operator_count(stream)
        return ContentStream(stream, self._reader, "bytes").operations

    def _check_operator_count(self, stream: Any) -> None:
        """Refuse a content stream with more text operators than the limit, before it is parsed."""
        limit = self._limits.max_text_operators
        if limit:  # counted on the decoded bytes first: parsing is what a hostile page makes slow
            if sum(chunk.count(b"Tj") + chunk.count(b"TJ") for chunk in content_data(stream)) > limit:
                raise TooManyOperatorsError(f"more than {limit} text operators on one page")

    def boxes(self, index: int) -> tuple[Box, Box]:
        """Page ``index``'s media box and the part of it a viewer shows (see ``page_box``)."""
        try:
            return page_boxes(self._page(index))
        except DamagedPdfError:
            raise
        except Exception as exc:
            raise DamagedPdfError(f"damaged page box ({exc})", file=self._file, page=index + 1) from exc

    def check_content(self, index: int) -> None:
        """Refuse page ``index`` if its content holds more text operators than the limit, or cannot be parsed.

        Another engine calls this before it parses the page itself. Content that no checksum
        vouches for (the page's or a form's stream stored without Flate) is parsed here too: a
        damaged byte in it is a syntax error pypdf refuses and PDFium reads past, taking what
        follows for text.

        Raises:
            DocumentTooLargeError: The page holds too many text operators.
            DamagedPdfError: The page's content cannot be read.
        """
        page = self._page(index)
        with self._reading(index):
            contents = page.get("/Contents")
            contents = contents.get_object() if contents is not None else None
            if contents is not None:
                self._check_operator_count(contents)
                check_fonts_defined(contents, page.get("/Resources"))  # PDFium would draw in a font it chose
                parts = list(contents) if isinstance(contents, list) else [contents]
                if not all(checksummed(part.get_object()) for part in parts):
                    self._operations(contents)
            for form in page_forms(page.get("/Resources")):  # PDFium reads the forms' text too
                if not checksummed(form):
                    self._operations(form)

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
