"""Filled-in form fields: the text of a widget's appearance, where the page shows it.

A document made by filling in a PDF form (an invoice template typed into in a viewer, a
program that fills a form without flattening it) keeps the typed values out of the page's
content: each field's widget annotation draws its value from an appearance stream
(``/AP /N``) mapped onto the widget's ``/Rect``. A viewer shows and prints it, so it is what
the page says; the text engines read it as a form drawn there (PDF 32000-1, 12.5.5: the
appearance's ``/BBox``, transformed by its ``/Matrix``, is fitted to ``/Rect``). Widgets flagged
hidden or not to be viewed are not shown and not read; an appearance with states (a check
box) shows the one its ``/AS`` names. Other annotations (a reviewer's comment, a stamp) are
notes on the document, not its text, and are not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from cc_perf_dagster.core.content_stream import IDENTITY, Matrix, multiply

# Annotation flags: Hidden (2) and NoView (6), as bits.
_NOT_SHOWN = (1 << 1) | (1 << 5)


def widget_appearances(
    page: Any, default_resources: Any, hides: Callable[[Any], bool] | None = None
) -> Iterator[tuple[Any, Any, Matrix]]:
    """Each shown widget's appearance stream, its resources and the matrix that puts it on the page.

    Args:
        page: A pypdf page.
        default_resources: The form's default resources (``/AcroForm /DR``), for an appearance
            without its own.
        hides: Whether a layer is hidden in the document's default view (a widget in one is not shown).
    """
    annotations = page.get("/Annots")
    annotations = annotations.get_object() if annotations is not None else None
    for reference in annotations or ():
        try:
            annotation = reference.get_object()
            if annotation.get("/Subtype") != "/Widget" or int(annotation.get("/F", 0)) & _NOT_SHOWN:
                continue
            layer = dict.get(annotation, "/OC")
            if layer is not None and hides is not None and hides(layer):
                continue
            stream = _normal_appearance(annotation)
            matrix = _placement(stream, annotation) if stream is not None else None
        except (AttributeError, TypeError, ValueError, KeyError):
            continue
        if matrix is not None:
            own = stream.get("/Resources")
            yield stream, own.get_object() if own is not None else default_resources, matrix


def has_widgets(page: Any) -> bool:
    """Whether the page has widget annotations (cheap: most pages have no annotations at all)."""
    annotations = page.get("/Annots")
    if annotations is None:
        return False
    try:
        return any(a.get_object().get("/Subtype") == "/Widget" for a in annotations.get_object())
    except (AttributeError, TypeError):
        return False


def _normal_appearance(annotation: Any) -> Any:
    appearances = annotation.get("/AP")
    normal = appearances.get_object().get("/N") if appearances is not None else None
    normal = normal.get_object() if normal is not None else None
    if normal is not None and not hasattr(normal, "get_data"):  # states: the one /AS names
        state = annotation.get("/AS")
        normal = normal.get(state) if state is not None else None
        normal = normal.get_object() if normal is not None else None
    return normal if normal is not None and hasattr(normal, "get_data") else None


def _placement(stream: Any, annotation: Any) -> Matrix | None:
    """The appearance's ``/Matrix`` followed by the fit of its transformed ``/BBox`` to ``/Rect``."""
    rx0, ry0, rx1, ry1 = (float(v) for v in annotation["/Rect"])
    rx0, rx1 = min(rx0, rx1), max(rx0, rx1)
    ry0, ry1 = min(ry0, ry1), max(ry0, ry1)
    bx0, by0, bx1, by1 = (float(v) for v in stream["/BBox"])
    raw = stream.get("/Matrix")
    matrix: Matrix = IDENTITY
    if raw is not None and len(raw) == 6:
        matrix = tuple(float(v) for v in raw)  # type: ignore[assignment]
    a, b, c, d, e, f = matrix
    xs = [a * x + c * y + e for x in (bx0, bx1) for y in (by0, by1)]
    ys = [b * x + d * y + f for x in (bx0, bx1) for y in (by0, by1)]
    tx0, tx1, ty0, ty1 = min(xs), max(xs), min(ys), max(ys)
    if tx1 - tx0 <= 0 or ty1 - ty0 <= 0:
        return None
    sx, sy = (rx1 - rx0) / (tx1 - tx0), (ry1 - ry0) / (ty1 - ty0)
    return multiply(matrix, (sx, 0.0, 0.0, sy, rx0 - tx0 * sx, ry0 - ty0 * sy))
