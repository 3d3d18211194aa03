"""Dates as printed on documents to ISO.

M/D/YYYY, M-D-YY, YYYY-MM-DD, YYYY/MM/DD, 4-Feb-2025, 4-FEB-25 and Feb 4, 2025.
"""

from __future__ import annotations

import datetime as dt
import re

DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})$")


ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$|^(\d{4})/(\d{1,2})/(\d{1,2})$")


NAMED_DATE = re.compile(
    r"^(\d{1,2})[- ]([A-Za-z]{3,9})\.?[- ,]+(\d{4}|\d{2})$"  # 4-Feb-2025, 4 Feb 2025, 4-FEB-25
    r"|^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$"  # Feb 4, 2025
)


MONTHS = {m: i for i, m in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), 1)}


def parse_date(token: str) -> str | None:
    """ISO date of M/D/YYYY, M-D-YYYY, M/D/YY, YYYY-MM-DD, YYYY/MM/DD, 4-Feb-2025, 4-Feb-25 or Feb 4, 2025.

    Example:
        >>> parse_date("1/17/2025"), parse_date("2025/01/17"), parse_date("17-JAN-25"), parse_date("17.01.2025")
        ('2025-01-17', '2025-01-17', '2025-01-17', None)
    """
    if match := DATE.match(token):
        month, day, year = (int(g) for g in match.groups())
    elif match := ISO_DATE.match(token):
        year, month, day = (int(g) for g in match.groups() if g is not None)
    elif match := NAMED_DATE.match(token):
        day_text, month_text, year_text = (
            match.group(1, 2, 3) if match.group(1) else (match.group(5), match.group(4), match.group(6))
        )
        month = MONTHS.get(month_text[:3].lower(), 0)
        day, year = int(day_text), int(year_text)
    else:
        return None
    if year < 100:
        year += 2000
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None
