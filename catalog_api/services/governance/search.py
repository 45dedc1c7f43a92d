"""What the search index reads of curation: one batch call per kind of entity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.errors import InvalidInput
from catalog_api.services.browse import MAX_BOUND_PARAMETERS
from catalog_api.services.governance.assets import IN_DOMAIN, MODELS, OWNED, TERMED, asset
from catalog_api.services.governance.domains import domains_of
from catalog_api.services.governance.glossary import terms_of
from catalog_api.services.governance.owners import owners_of
from catalog_api.services.governance.views import CurationView
from catalog_api.urns import EntityType


def curation_search_fields(session: Session, kind: EntityType | str, ids: Sequence[int]
                           ) -> dict[int, dict[str, Any]]:
    """For each entity of `kind` (`source`, `schema`, `dataset`, `column`) among `ids`: `{"owners": [principal, …],
    "terms": [term name, …], "domain": name or None}`, sorted, for the search index. Ids the catalog does not hold are
    left out; a kind that cannot carry a field gets it empty. A few statements whatever the number of ids."""
    try:
        kind = EntityType(kind)
    except ValueError:
        raise InvalidInput("kind", "source, schema, dataset or column") from None
    model = MODELS[kind]
    urns: dict[int, str] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), MAX_BOUND_PARAMETERS):
        urns.update(session.execute(select(model.id, model.urn)
                                    .where(model.id.in_(unique[start:start + MAX_BOUND_PARAMETERS]))).all())
    values = list(urns.values())
    owners = owners_of(session, values) if kind in OWNED else {}
    terms = terms_of(session, values) if kind in TERMED else {}
    domains = domains_of(session, values) if kind in IN_DOMAIN else {}
    fields = {}
    for entity_id, urn in urns.items():
        domain = domains.get(urn)
        fields[entity_id] = {"owners": sorted({o.principal for o in owners.get(urn, [])}),
                             "terms": [t.name for t in terms.get(urn, [])],
                             "domain": None if domain is None else domain.name}
    return fields


def curation_of(session: Session, urn: str) -> CurationView:
    """An entity's owners, terms and domain (null where its kind carries none)."""
    target = asset(session, urn, (*EntityType,), "curation")
    return CurationView(
        urn=target.urn,
        owners=owners_of(session, [target.urn])[target.urn] if target.kind in OWNED else None,
        terms=terms_of(session, [target.urn])[target.urn] if target.kind in TERMED else None,
        domain=domains_of(session, [target.urn])[target.urn] if target.kind in IN_DOMAIN else None,
    )
