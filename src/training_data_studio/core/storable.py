"""Types for values that must fit PostgreSQL: text without NUL characters, integers within `integer`.

PostgreSQL text cannot hold U+0000 and an `integer` column stops at 2**31 - 1; a value past either failed
deep in a query with a 500. Declared on the request models instead, it is refused up front with a 422 that
names the field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

PG_INT_MAX = 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character (U+0000), which cannot be stored: remove it")
    return value


NoNul = AfterValidator(_no_nul)
StorableText = Annotated[str, NoNul]
DbInt = Annotated[int, Field(ge=1, le=PG_INT_MAX)]
