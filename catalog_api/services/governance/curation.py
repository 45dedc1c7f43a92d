"""The whole curation of one entity: its owners, glossary terms and domain, as one view."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog_api.services.governance.assets import IN_DOMAIN, OWNED, TERMED, asset
from catalog_api.services.governance.domains import domains_of
from catalog_api.services.governance.glossary import terms_of
from catalog_api.services.governance.owners import owners_of
from catalog_api.services.governance.views import CurationView
from catalog_api.urns import EntityType


def curation_of(session: Session, urn: str) -> CurationView:
    """An entity's owners, terms and domain (null where its kind carries none)."""
    target = asset(session, urn, (*EntityType,), "curation")
    return CurationView(
        urn=target.urn,
        owners=owners_of(session, [target.urn])[target.urn] if target.kind in OWNED else None,
        terms=terms_of(session, [target.urn])[target.urn] if target.kind in TERMED else None,
        domain=domains_of(session, [target.urn])[target.urn] if target.kind in IN_DOMAIN else None,
    )
