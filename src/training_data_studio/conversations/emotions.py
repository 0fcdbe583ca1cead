"""Emotion names as the filters and facets compare them: case and whitespace do not make a second emotion.

Plan rows and imported files spell the same emotion differently ("Anxiety", "anxiety", "Overwhelm ",
"overwhelm"). The stored value stays as written; the Matrix filters, counts and sorts on a key that lowers it,
collapses runs of whitespace to one space and trims the ends. The SQL form is spelled with literal constants,
never bound parameters, so that it is the very expression the indexes of migration
20261202150000_matrix_sort_and_emotion_keys.sql are built on and the planner can use them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column
from sqlalchemy.orm import InstrumentedAttribute

# PostgreSQL's regular-expression `\s`: space, tab, newline, carriage return, form feed, vertical tab.
_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")


def emotion_key(value: str) -> str:
    """The key of one emotion name, as `emotion_key_sql` computes it in the database (for ASCII names)."""
    return _WHITESPACE.sub(" ", value).strip(" ").lower()


def emotion_key_sql(expression: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[str]:
    """lower(btrim(regexp_replace(x, '\\s+', ' ', 'g'))): the same key, computed by PostgreSQL."""
    collapsed = func.regexp_replace(expression, literal_column(r"'\s+'"), literal_column("' '"), literal_column("'g'"))
    return func.lower(func.btrim(collapsed))
