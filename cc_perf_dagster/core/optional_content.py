"""Optional content (layers): which of a document's layers its default view hides.

A producer can put content in a layer (an optional content group, ``/OCG``) that the document's
default configuration (``/OCProperties /D``) turns off: old prices, a draft stamp, a second
language. A viewer does not show it and a printer does not print it, so it is not what the page
says. Content is marked as a layer's by ``/OC /name BDC ... EMC`` in a content stream (the name
found in the resources' ``/Properties``) or by a form XObject's ``/OC`` entry; either names a
group, or a membership dictionary (``/OCMD``) whose visibility follows from its groups by its
policy (``/P``) or visibility expression (``/VE``).
"""

from __future__ import annotations

from typing import Any

MAX_EXPRESSION_DEPTH = 8


def hidden_groups(root: Any) -> frozenset[int]:
    """The object numbers of the optional content groups the default configuration turns off.

    Args:
        root: The document catalog (a pypdf dictionary).
    """
    try:
        properties = root.get("/OCProperties")
        properties = properties.get_object() if properties is not None else None
        if properties is None:
            return frozenset()
        default = properties.get("/D")
        default = default.get_object() if default is not None else {}
        if default.get("/BaseState") == "/OFF":
            on = _numbers(default.get("/ON"))
            return frozenset(n for n in _numbers(properties.get("/OCGs")) if n not in on)
        return frozenset(_numbers(default.get("/OFF")))
    except Exception:  # a configuration that cannot be read hides nothing (viewers show it all)
        return frozenset()


def is_hidden(reference: Any, hidden: frozenset[int]) -> bool:
    """Whether content marked with a group or membership dictionary is hidden in the default view."""
    try:
        value = reference.get_object()
        if value.get("/Type") != "/OCMD":
            return _number(reference) in hidden
        expression = value.get("/VE")
        if expression is not None:
            return not _shown_by(expression, hidden, 0)
        groups = value.get("/OCGs")
        groups = groups.get_object() if groups is not None else None
        shown = [_number(g) not in hidden for g in (groups if isinstance(groups, list) else [groups] if groups else [])]
        if not shown:
            return False
        policy = value.get("/P", "/AnyOn")
        visible = {"/AllOn": all(shown), "/AnyOff": not all(shown), "/AllOff": not any(shown)}.get(policy, any(shown))
        return not visible
    except (AttributeError, TypeError, ValueError):
        return False


def _shown_by(expression: Any, hidden: frozenset[int], depth: int) -> bool:
    """A visibility expression ``[/And|/Or|/Not operand ...]``, operands groups or expressions."""
    value = expression.get_object()
    if not isinstance(value, list) or not value or depth > MAX_EXPRESSION_DEPTH:
        return _number(expression) not in hidden if not isinstance(value, list) else True
    operator, operands = value[0], value[1:]
    results = [_shown_by(operand, hidden, depth + 1) for operand in operands]
    if operator == "/Not":
        return not results[0] if results else True
    if operator == "/And":
        return all(results)
    return any(results)


def _number(reference: Any) -> int | None:
    return getattr(reference, "idnum", None)


def _numbers(array: Any) -> set[int]:
    array = array.get_object() if array is not None else None
    return {n for n in (_number(item) for item in array or ()) if n is not None}
