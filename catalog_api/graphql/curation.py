"""GraphQL for owners, glossary terms and domains (merged into `Query` and `Mutation`, and into the entity types as
`owners`, `terms`, `domain`): the same service calls as REST, so a change validates and records its history and
events the same way whichever transport made it.

An entity's owners, terms and domain load through per-request DataLoaders keyed by URN: a page of tables asking for
them costs one statement each, whatever the page size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from catalog_api.errors import InvalidInput
from catalog_api.graphql.context import Info
from catalog_api.graphql.loaders import in_session
from catalog_api.graphql.permissions import requires
from catalog_api.graphql.views import graphql_type
from catalog_api.security.identity import Permission
from catalog_api.services import governance

OwnerNode = graphql_type(governance.OwnerView, "Owner", "An owner as GraphQL shows it.",
                         description="An owner of a source, schema or dataset: a user or group (`kind`), answering as "
                                     "`technical` or `business` owner (`type`).")
TermRefNode = graphql_type(governance.TermRefView, "GlossaryTermRef", "A term as an entity names it.",
                           description="A glossary term linked to a table or column (`glossaryTerm(id:)` has more).")
DomainRefNode = graphql_type(governance.DomainRefView, "DomainRef", "A domain as an entity names it.",
                             description="The domain a source or dataset belongs to (`domain(id:)` has more).")
LinkedAssetNode = graphql_type(governance.LinkedAssetView, "CuratedAsset", "An entity a term or domain holds.",
                               description="A table, column or source a term is linked to or a domain holds; "
                                           "`deleted`: it disappeared from its source.")
TermNode = graphql_type(governance.TermView, "GlossaryTerm", "A glossary term.",
                        description="A glossary term: unique name, definition, and the broader term it is filed "
                                    "under (`parent`).")
TermPageNode = graphql_type(governance.TermDetailView, "GlossaryTermPage", "A term's page.",
                            description="A term, its narrower terms and the tables and columns linked to it "
                                        "(`assetCount` counts them all).")
DomainNode = graphql_type(governance.DomainView, "Domain", "A domain.",
                          description="A named part of the business that sources and datasets belong to.")
DomainPageNode = graphql_type(governance.DomainDetailView, "DomainPage", "A domain's page.",
                              description="A domain with the sources and datasets that belong to it.")
CurationChangeNode = graphql_type(governance.CurationChangeView, "CurationChange", "One change of a term or domain.",
                                  description="One change of a glossary term or domain (`created`, `updated`, "
                                              "`deleted`): its fields before and after, who made it and when.")
CurationNode = graphql_type(governance.CurationView, "Curation", "An entity's owners, terms and domain.",
                            description="An entity's owners, terms and domain; null where its kind carries none.")
TermId = Annotated[int, strawberry.argument(name="id", description="The term's id.")]
DomainId = Annotated[int, strawberry.argument(name="id", description="The domain's id.")]


@strawberry.input(name="OwnerInput", description="One owner: a user or group, technical or business.")
class OwnerInput:
    principal: str = strawberry.field(description="The user's or group's name, e.g. an e-mail address.")
    kind: str = strawberry.field(default="user", description="user or group.")
    type: str = strawberry.field(default="technical", description="technical or business.")


# -- per-request loaders, keyed by URN ---------------------------------------------------------------------------

def _loader(info: Info, name: str, batch: Callable[[Session, Sequence[str]], dict[str, Any]]) -> DataLoader:
    """The request's loader `name` (created on first use, on the request's `Loaders`, so a mutation clears it)."""
    loaders = info.context.loaders
    found = getattr(loaders, name, None)
    if found is None:
        ctx = info.context.ctx

        async def load(urns: list[str]) -> list[Any]:
            values = await in_session(ctx, lambda session: batch(session, list(dict.fromkeys(urns))))
            return [values[urn] for urn in urns]

        found = DataLoader(load)
        setattr(loaders, name, found)
    return found


async def _owners(info: Info, urn: str) -> list[OwnerNode]:
    return [OwnerNode.of(o) for o in await _loader(info, "curation_owners", governance.owners_of).load(urn)]


async def _terms(info: Info, urn: str) -> list[TermRefNode]:
    return [TermRefNode.of(t) for t in await _loader(info, "curation_terms", governance.terms_of).load(urn)]


async def _domain(info: Info, urn: str) -> DomainRefNode | None:
    found = await _loader(info, "curation_domains", governance.domains_of).load(urn)
    return None if found is None else DomainRefNode.of(found)


# -- fields of the entity types (mixed into Source, Schema, Table and Column) ------------------------------------

@strawberry.type
class Owned:
    """`owners` of a source, schema or dataset."""

    @strawberry.field(description="Owners by type, kind and principal.")
    async def owners(self, info: Info) -> list[OwnerNode]:
        return await _owners(info, self.urn)


@strawberry.type
class Termed:
    """`terms` of a dataset or column."""

    @strawberry.field(description="Linked glossary terms, by name.")
    async def terms(self, info: Info) -> list[TermRefNode]:
        return await _terms(info, self.urn)


@strawberry.type
class InDomain:
    """`domain` of a source or dataset."""

    @strawberry.field(description="The domain it belongs to; null when none.")
    async def domain(self, info: Info) -> DomainRefNode | None:
        return await _domain(info, self.urn)


# -- queries and mutations ---------------------------------------------------------------------------------------

async def _changed(info: Info, command: Callable[..., Any], *args: Any) -> Any:
    """Runs a curation command off the event loop; what the request loaded before may have changed with it."""
    found = await asyncio.to_thread(command, info.context.ctx, *args)
    info.context.loaders.clear()
    return found


@strawberry.type
class CurationQuery:
    """Glossary and domain queries (inherited by `Query`); like every query, they need `catalog:read`."""

    @strawberry.field(description="Glossary terms in name order: all, or the narrower terms of `parent` (a name).")
    async def glossary_terms(self, info: Info, parent: str | None = None,
                             limit: int = governance.MAX_TERMS) -> list[TermNode]:
        return [TermNode.of(t) for t in await info.context.query(governance.list_terms, parent=parent, limit=limit)]

    @strawberry.field(description="A term's page by id or by name (give exactly one): the term, its narrower terms "
                                  "and (up to `limit` of) the tables and columns linked to it.")
    async def glossary_term(self, info: Info, term_id: Annotated[int | None, strawberry.argument(name="id")] = None,
                            name: str | None = None, limit: int = governance.MAX_LINKED) -> TermPageNode:
        if (term_id is None) == (name is None):
            raise InvalidInput("id", "give the term's id or its name, not both")
        if term_id is None:
            return TermPageNode.of(await info.context.query(governance.find_term, name))
        return TermPageNode.of(await info.context.query(governance.get_term, term_id, limit=limit))

    @strawberry.field(description="Domains in name order.")
    async def domains(self, info: Info, limit: int = governance.MAX_DOMAINS) -> list[DomainNode]:
        return [DomainNode.of(d) for d in await info.context.query(governance.list_domains, limit=limit)]

    @strawberry.field(description="A domain with (up to `limit` of) its sources and datasets.")
    async def domain(self, info: Info, domain_id: DomainId, limit: int = governance.MAX_LINKED) -> DomainPageNode:
        return DomainPageNode.of(await info.context.query(governance.get_domain, domain_id, limit=limit))

    @strawberry.field(description="The changes of a glossary term (`kind: \"term\"`) or domain (`\"domain\"`), a "
                                  "deleted one's too, newest first.")
    async def curation_history(self, info: Info, kind: str,
                               subject_id: Annotated[int, strawberry.argument(name="id")],
                               limit: int = 100) -> list[CurationChangeNode]:
        found = await info.context.query(governance.curation_history, kind, subject_id, limit=limit)
        return [CurationChangeNode.of(c) for c in found]

    @strawberry.field(description="An entity's owners, terms and domain, by URN.")
    async def curation(self, info: Info, urn: str) -> CurationNode:
        return CurationNode.of(await info.context.query(governance.curation_of, urn))


@strawberry.type
class CurationMutation:
    """Owner, term and domain mutations (inherited by `Mutation`); each needs the curator role."""

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Replaces the owners of a source, schema or dataset.")
    async def set_owners(self, info: Info, urn: str, owners: list[OwnerInput]) -> list[OwnerNode]:
        given = [{"principal": o.principal, "kind": o.kind, "type": o.type} for o in owners]
        return [OwnerNode.of(o) for o in await _changed(info, governance.set_owners, urn, given)]

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Links a glossary term (by name) to a table or column; answers its terms.")
    async def link_term(self, info: Info, urn: str, term: str) -> list[TermRefNode]:
        return [TermRefNode.of(t) for t in await _changed(info, governance.link_term, urn, term)]

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Unlinks a glossary term (by id) from a table or column; answers its terms.")
    async def unlink_term(self, info: Info, urn: str, term_id: int) -> list[TermRefNode]:
        return [TermRefNode.of(t) for t in await _changed(info, governance.unlink_term, urn, term_id)]

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Puts a source or dataset in a domain (by name); null takes it out.")
    async def set_domain(self, info: Info, urn: str, domain: str | None = None) -> DomainRefNode | None:
        found = await _changed(info, governance.set_domain, urn, domain)
        return None if found is None else DomainRefNode.of(found)

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Creates a glossary term; a name in use (in any case) is a conflict.")
    async def create_glossary_term(self, info: Info, name: str, definition: str | None = None,
                                   parent: str | None = None) -> TermNode:
        return TermNode.of(await _changed(info, governance.create_term, name, definition, parent))

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Replaces a term's name, definition and parent; its links stay.")
    async def update_glossary_term(self, info: Info, term_id: TermId, name: str, definition: str | None = None,
                                   parent: str | None = None) -> TermNode:
        return TermNode.of(await _changed(info, governance.update_term, term_id, name, definition, parent))

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Deletes a term and unlinks it everywhere; answers the term as it was.")
    async def delete_glossary_term(self, info: Info, term_id: TermId) -> TermNode:
        return TermNode.of(await _changed(info, governance.delete_term, term_id))

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Creates a domain; a name in use (in any case) is a conflict.")
    async def create_domain(self, info: Info, name: str, description: str | None = None) -> DomainNode:
        return DomainNode.of(await _changed(info, governance.create_domain, name, description))

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Replaces a domain's name and description; its entities stay in it.")
    async def update_domain(self, info: Info, domain_id: DomainId, name: str,
                            description: str | None = None) -> DomainNode:
        return DomainNode.of(await _changed(info, governance.update_domain, domain_id, name, description))

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Deletes a domain and takes its entities out of it; answers it as it was.")
    async def delete_domain(self, info: Info, domain_id: DomainId) -> DomainNode:
        return DomainNode.of(await _changed(info, governance.delete_domain, domain_id))
