"""What both structure readers check and hash of a page, on either's objects (pypdf's or ``pdf_objects``').

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

:class:`PageChecks` holds the hash and the checks; :class:`~cc_perf_dagster.core.pypdf_engine.PypdfDocument`
gives it pypdf's objects, :class:`~cc_perf_dagster.core.pdfium_structure.ObjectStructure` those of
:mod:`~cc_perf_dagster.core.pdf_objects` (which raises
:class:`~cc_perf_dagster.core.pdf_objects.Unsupported` where it cannot vouch for reading as pypdf
does: that passes through here untouched, so the caller can ask pypdf).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cc_perf_dagster.core.canonical import canonical
from cc_perf_dagster.core.content_stream import (
    TooManyOperatorsError,
    UnreadableTextError,
    check_fonts_defined,
    content_data,
)
from cc_perf_dagster.core.errors import DamagedPdfError, DocumentTooLargeError
from cc_perf_dagster.core.fonts import damaged_font_streams, page_forms, uses_type3_fonts
from cc_perf_dagster.core.page_box import Box, page_boxes
from cc_perf_dagster.core.pdf import Limits
from cc_perf_dagster.core.pdf_values import Unsupported
from cc_perf_dagster.core.stream_check import check_page_streams, checksummed, damaged_objects_raise, stream_damage
from cc_perf_dagster.core.widgets import has_widgets, widget_appearances

PAGE_HASH_VERSION = b"cc-perf-page-hash-v3"


class PageChecks:
    """A page's content hash and structure checks; subclasses give the objects.

    Subclasses set ``_file``, ``_limits``, ``_encrypted``, ``_root`` (the catalog),
    ``hides_layers`` and ``_hides``, and define ``_page(index)``, ``_contents_data(page)`` (the
    decoded content as pypdf's ``get_contents()`` joins it) and ``_operations(stream)``.
    """

    _file: str
    _limits: Limits
    _encrypted: bool
    _root: Any
    hides_layers: bool
    _hides: Any

    def _start_checks(self) -> None:
        self._font_hashes: dict[Any, str] = {}
        self._streams: dict[Any, str | None] = {}  # fonts' streams: their damage, if any

    def _page(self, index: int) -> Any:
        raise NotImplementedError

    def _contents_data(self, page: Any) -> bytes | None:
        raise NotImplementedError

    def _operations(self, stream: Any) -> list:
        raise NotImplementedError

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
            check_page_streams(page, self._file, index, encrypted=self._encrypted, damage=self._stream_damage)
            contents = self._contents_data(page)
            if contents is not None:
                digest.update(contents)
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
        except (DamagedPdfError, Unsupported):
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

    @contextmanager
    def _reading(self, index: int) -> Iterator[None]:
        """What goes wrong while page ``index`` is read, as the one-line error it is (naming the page)."""
        try:
            with damaged_objects_raise(self._file, index + 1):
                yield
        except TooManyOperatorsError as exc:
            raise DocumentTooLargeError(f"too large: {exc}", file=self._file, page=index + 1) from exc
        except (DamagedPdfError, Unsupported):
            raise
        except UnreadableTextError as exc:
            raise DamagedPdfError(f"damaged page: {exc}", file=self._file, page=index + 1) from exc
        except Exception as exc:
            raise DamagedPdfError(f"cannot read the page's text ({exc})", file=self._file, page=index + 1) from exc

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
                found = stream_damage(stream.get_object(), encrypted=self._encrypted)
            except Exception as exc:  # an object that cannot be read is no whole stream
                found = f"it cannot be read ({exc})"
            if key is None:
                return found
            self._streams[key] = found
        return self._streams[key]

    def _form_resources(self) -> Any:
        form = self._root.get("/AcroForm")
        resources = form.get_object().get("/DR") if form is not None else None
        return resources.get_object() if resources is not None else None

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
        except (DamagedPdfError, Unsupported):
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
