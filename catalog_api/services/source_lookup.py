"""Finding and listing registered sources: the reads of `catalog_api.services.sources`, which imports them back.

Kept apart from the registration, update and deletion of sources, which bring the connectors, pydantic input models,
the job records and the event outbox: a command that only lists sources (`catalog source list`) imports this module
and the views alone, and starts at once (tests/catalog_api/cli/test_startup.py).
"""

from __future__ import annotations

import difflib
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import DataSource
from catalog_api.errors import NotFound
from catalog_api.services.views import MAX_ID, SourceView, source_view


def source_row(session: Session, ref: int | str, *, by: Literal["id", "name"] | None = None,
               for_update: bool = False) -> DataSource:
    """A source's row by id or by name. Without `by`, an int is an id and a string is a name, or else an id if
    digits. `for_update` locks the row until the transaction ends (on PostgreSQL; SQLite serialises writers)."""
    source = None
    if by == "name" or (by is None and isinstance(ref, str)):
        by_name = select(DataSource).where(DataSource.name == str(ref))
        source = session.scalars(by_name.with_for_update() if for_update else by_name).first()
        if source is None and by != "name" and str(ref).isascii() and str(ref).isdigit() and int(ref) <= MAX_ID:
            source = session.get(DataSource, int(ref), with_for_update=for_update)
    elif abs(int(ref)) <= MAX_ID:  # a larger number does not fit the column: the database would refuse to compare
        source = session.get(DataSource, int(ref), with_for_update=for_update)
    if source is None:
        raise NotFound(f"no source {ref!r}{_did_you_mean(session, str(ref))}", field="id")
    return source


def _did_you_mean(session: Session, name: str) -> str:
    """`; did you mean 'shop'?` for a name close to registered ones: a typo should not send the user to `list`."""
    close = difflib.get_close_matches(name, session.scalars(select(DataSource.name)).all(), n=3)
    return f"; did you mean {' or '.join(repr(match) for match in close)}?" if close else ""


def get_source(session: Session, ref: int | str, *, by: Literal["id", "name"] | None = None) -> SourceView:
    """A source by id or by name (see `source_row`)."""
    return source_view(source_row(session, ref, by=by))


def list_sources(session: Session) -> list[SourceView]:
    """Every registered source, by name."""
    return [source_view(s) for s in session.scalars(select(DataSource).order_by(DataSource.name))]
