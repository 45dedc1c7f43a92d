"""REST routes for owners, glossary terms and domains: read by viewers, changed by curators. Entities are addressed
by URN under `/entities/{urn}` (like descriptions and tags), terms and domains by id."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog_api.rest.contract import checked_by_service, errors
from catalog_api.rest.deps import QUERY_SESSION, context
from catalog_api.rest.models import rest_model
from catalog_api.rest.routes import ANY_URN, urn_in_path
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services import governance
from catalog_api.services.context import ServiceContext
from catalog_api.services.views import MAX_ID

router = APIRouter(prefix="/api/v1", tags=["curation"])

TermId = Annotated[int, Path(ge=1, le=MAX_ID, description="The term's id.")]
DomainId = Annotated[int, Path(ge=1, le=MAX_ID, description="The domain's id.")]
# The service folds runs of spaces into one and trims the ends; a name needs one character that is not a space.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$"
Name = Annotated[str, Field(min_length=1, max_length=governance.MAX_NAME, **checked_by_service(NAME_PATTERN))]
OWNED_URN = urn_in_path(*governance.OWNED)
TERMED_URN = urn_in_path(*governance.TERMED)
IN_DOMAIN_URN = urn_in_path(*governance.IN_DOMAIN)
Text = Annotated[str | None, Field(default=None, max_length=governance.MAX_TEXT)]
HistoryLimit = Annotated[int, Query(ge=1, le=governance.MAX_HISTORY, description="At most this many changes.")]
LinkedLimit = Annotated[int, Query(ge=1, le=governance.MAX_LINKED, description="At most this many entities.")]

OwnerOut = rest_model("OwnerOut", governance.OwnerView, "An owner: a user or group, technical or business.")
TermRefOut = rest_model("TermRefOut", governance.TermRefView, "A glossary term as an entity names it.")
DomainRefOut = rest_model("DomainRefOut", governance.DomainRefView, "A domain as an entity names it.")
LinkedAssetOut = rest_model("LinkedAssetOut", governance.LinkedAssetView, "An entity a term or domain holds.")
TermOut = rest_model("TermOut", governance.TermView, "A glossary term with its definition and broader term.")
DomainOut = rest_model("DomainOut", governance.DomainView, "A domain: a named part of the business.")
TermDetailOut = rest_model("TermDetailOut", governance.TermDetailView,
                           "A term's page: the term, its narrower terms and the tables and columns linked to it.")
DomainDetailOut = rest_model("DomainDetailOut", governance.DomainDetailView,
                             "A domain with the sources and datasets that belong to it.")
CurationChangeOut = rest_model("CurationChangeOut", governance.CurationChangeView,
                               "One change of a term or domain: its fields before and after, who and when.")
CurationOut = rest_model("CurationOut", governance.CurationView,
                         "An entity's owners, terms and domain; null where its kind carries none.")


class OwnerIn(BaseModel):
    """One owner: a user (e.g. an e-mail address) or a group, answering as technical or business owner."""

    model_config = ConfigDict(extra="forbid")
    principal: str = Field(min_length=1, max_length=255, examples=["ana@example.com"],
                           **checked_by_service(NAME_PATTERN))
    kind: Literal["user", "group"] = "user"
    type: Literal["technical", "business"] = "technical"


class OwnersIn(BaseModel):
    """The full new set of owners of a source, schema or dataset."""

    model_config = ConfigDict(extra="forbid")
    owners: list[OwnerIn] = Field(max_length=governance.MAX_OWNERS)


class TermLinkIn(BaseModel):
    """The term (by name, in any case) to link."""

    model_config = ConfigDict(extra="forbid")
    term: Name


class DomainChoiceIn(BaseModel):
    """The domain (by name) the entity belongs to from now on; null takes it out of its domain."""

    model_config = ConfigDict(extra="forbid")
    domain: Name | None


class TermIn(BaseModel):
    """A term's whole definition: a unique name, what it means, and the broader term (by name) it is filed under."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    definition: Text
    parent: Name | None = None


class DomainIn(BaseModel):
    """A domain's name (unique) and description."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    description: Text


# -- what entities carry -----------------------------------------------------------------------------------------

@router.get("/entities/{urn:path}/curation", dependencies=[allow(Permission.READ)], response_model=CurationOut)
def entity_curation(urn: str = ANY_URN, session: Session = QUERY_SESSION) -> CurationOut:
    """Owners (sources, schemas, datasets), terms (datasets, columns) and domain (sources, datasets) of an entity."""
    return CurationOut.of(governance.curation_of(session, urn))


@router.put("/entities/{urn:path}/owners", dependencies=[allow(Permission.CURATE)], response_model=list[OwnerOut])
def set_owners(body: OwnersIn, urn: str = OWNED_URN, ctx: ServiceContext = Depends(context)) -> list[OwnerOut]:
    """Replaces the owners of a source, schema or dataset; answers them by type, kind and principal."""
    owners = governance.set_owners(ctx, urn, [o.model_dump() for o in body.owners])
    return [OwnerOut.of(o) for o in owners]


@router.post("/entities/{urn:path}/terms", dependencies=[allow(Permission.CURATE)], response_model=list[TermRefOut])
def link_term(body: TermLinkIn, urn: str = TERMED_URN, ctx: ServiceContext = Depends(context)) -> list[TermRefOut]:
    """Links a term to a table or column (again: nothing changes); answers the entity's terms."""
    return [TermRefOut.of(t) for t in governance.link_term(ctx, urn, body.term)]


@router.delete("/entities/{urn:path}/terms/{term_id}", dependencies=[allow(Permission.CURATE)],
               response_model=list[TermRefOut])
def unlink_term(term_id: TermId, urn: str = TERMED_URN, ctx: ServiceContext = Depends(context)) -> list[TermRefOut]:
    """Unlinks a term from a table or column (404 when it is not linked); answers the entity's terms."""
    return [TermRefOut.of(t) for t in governance.unlink_term(ctx, urn, term_id)]


@router.put("/entities/{urn:path}/domain", dependencies=[allow(Permission.CURATE)],
            response_model=DomainRefOut | None)
def set_domain(body: DomainChoiceIn, urn: str = IN_DOMAIN_URN, ctx: ServiceContext = Depends(context)
               ) -> DomainRefOut | None:
    """Puts a source or dataset in a domain (out of its current one), or takes it out with null."""
    found = governance.set_domain(ctx, urn, body.domain)
    return None if found is None else DomainRefOut.of(found)


# -- the glossary ------------------------------------------------------------------------------------------------

@router.get("/glossary/terms", dependencies=[allow(Permission.READ)], response_model=list[TermOut],
            responses=errors(404))
def list_terms(parent: str | None = Query(None, min_length=1, max_length=governance.MAX_NAME,
                                          description="Only the narrower terms of this term (by name).",
                                          **checked_by_service(NAME_PATTERN)),
               limit: int = Query(governance.MAX_TERMS, ge=1, le=governance.MAX_TERMS),
               session: Session = QUERY_SESSION) -> list[TermOut]:
    """Terms in name order."""
    return [TermOut.of(t) for t in governance.list_terms(session, parent=parent, limit=limit)]


@router.post("/glossary/terms", dependencies=[allow(Permission.CURATE)], response_model=TermOut,
             status_code=status.HTTP_201_CREATED, responses=errors(404, 409))
def create_term(body: TermIn, ctx: ServiceContext = Depends(context)) -> TermOut:
    """A new term; 409 when a term of that name (in any case) exists."""
    return TermOut.of(governance.create_term(ctx, body.name, body.definition, body.parent))


@router.get("/glossary/terms/{term_id}", dependencies=[allow(Permission.READ)], response_model=TermDetailOut)
def get_term(term_id: TermId, limit: LinkedLimit = governance.MAX_LINKED,
             session: Session = QUERY_SESSION) -> TermDetailOut:
    """The term's page: the term, its narrower terms, and the tables and columns linked to it (by URN)."""
    return TermDetailOut.of(governance.get_term(session, term_id, limit=limit))


@router.put("/glossary/terms/{term_id}", dependencies=[allow(Permission.CURATE)], response_model=TermOut,
            responses=errors(409))
def update_term(term_id: TermId, body: TermIn, ctx: ServiceContext = Depends(context)) -> TermOut:
    """Replaces the term's name, definition and parent; links stay."""
    return TermOut.of(governance.update_term(ctx, term_id, body.name, body.definition, body.parent))


@router.delete("/glossary/terms/{term_id}", dependencies=[allow(Permission.CURATE)],
               status_code=status.HTTP_204_NO_CONTENT)
def delete_term(term_id: TermId, ctx: ServiceContext = Depends(context)) -> Response:
    """Deletes the term and unlinks it everywhere; its history stays (`/glossary/terms/{id}/history`)."""
    governance.delete_term(ctx, term_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/glossary/terms/{term_id}/history", dependencies=[allow(Permission.READ)],
            response_model=list[CurationChangeOut])
def term_history(term_id: TermId, limit: HistoryLimit = 100,
                 session: Session = QUERY_SESSION) -> list[CurationChangeOut]:
    """The term's changes (a deleted term's too), newest first."""
    return [CurationChangeOut.of(c) for c in governance.curation_history(session, "term", term_id, limit=limit)]


# -- domains -----------------------------------------------------------------------------------------------------

@router.get("/domains", dependencies=[allow(Permission.READ)], response_model=list[DomainOut])
def list_domains(limit: int = Query(governance.MAX_DOMAINS, ge=1, le=governance.MAX_DOMAINS),
                 session: Session = QUERY_SESSION) -> list[DomainOut]:
    """Domains in name order."""
    return [DomainOut.of(d) for d in governance.list_domains(session, limit=limit)]


@router.post("/domains", dependencies=[allow(Permission.CURATE)], response_model=DomainOut,
             status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_domain(body: DomainIn, ctx: ServiceContext = Depends(context)) -> DomainOut:
    """A new domain; 409 when one of that name (in any case) exists."""
    return DomainOut.of(governance.create_domain(ctx, body.name, body.description))


@router.get("/domains/{domain_id}", dependencies=[allow(Permission.READ)], response_model=DomainDetailOut)
def get_domain(domain_id: DomainId, limit: LinkedLimit = governance.MAX_LINKED,
               session: Session = QUERY_SESSION) -> DomainDetailOut:
    """The domain with its sources and datasets (by URN)."""
    return DomainDetailOut.of(governance.get_domain(session, domain_id, limit=limit))


@router.put("/domains/{domain_id}", dependencies=[allow(Permission.CURATE)], response_model=DomainOut,
            responses=errors(409))
def update_domain(domain_id: DomainId, body: DomainIn, ctx: ServiceContext = Depends(context)) -> DomainOut:
    """Replaces the domain's name and description; its entities stay in it."""
    return DomainOut.of(governance.update_domain(ctx, domain_id, body.name, body.description))


@router.delete("/domains/{domain_id}", dependencies=[allow(Permission.CURATE)],
               status_code=status.HTTP_204_NO_CONTENT)
def delete_domain(domain_id: DomainId, ctx: ServiceContext = Depends(context)) -> Response:
    """Deletes the domain and takes its entities out of it; its history stays."""
    governance.delete_domain(ctx, domain_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/domains/{domain_id}/history", dependencies=[allow(Permission.READ)],
            response_model=list[CurationChangeOut])
def domain_history(domain_id: DomainId, limit: HistoryLimit = 100,
                   session: Session = QUERY_SESSION) -> list[CurationChangeOut]:
    """The domain's changes (a deleted domain's too), newest first."""
    return [CurationChangeOut.of(c) for c in governance.curation_history(session, "domain", domain_id, limit=limit)]
