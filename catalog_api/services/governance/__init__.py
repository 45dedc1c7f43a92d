"""Curation beyond descriptions and tags: owners (`owners`), the business glossary and its links (`glossary`),
domains (`domains`), the history of terms and domains (`history`), and one entity's whole curation (`curation`).

Sources, schemas and datasets have owners; datasets and columns link to terms; sources and datasets belong to at most
one domain. Every change is guarded by the curator role at the transports, written to the history of the entity's
table (or source) or of the term or domain, and published as an event, in one transaction.
"""

from catalog_api.services.governance.assets import IN_DOMAIN, MAX_NAME, MAX_TEXT, OWNED, TERMED
from catalog_api.services.governance.curation import curation_of
from catalog_api.services.governance.domains import (
    MAX_DOMAINS,
    create_domain,
    delete_domain,
    domains_of,
    find_domain,
    get_domain,
    list_domains,
    set_domain,
    update_domain,
)
from catalog_api.services.governance.glossary import (
    MAX_LINKED,
    MAX_TERMS,
    create_term,
    delete_term,
    find_term,
    get_term,
    link_term,
    list_terms,
    terms_of,
    unlink_term,
    update_term,
)
from catalog_api.services.governance.history import MAX_HISTORY, curation_history
from catalog_api.services.governance.owners import MAX_OWNERS, OWNER_TYPES, PRINCIPAL_KINDS, owners_of, set_owners
from catalog_api.services.governance.views import (
    CurationChangeView,
    CurationView,
    DomainDetailView,
    DomainRefView,
    DomainView,
    LinkedAssetView,
    OwnerView,
    TermDetailView,
    TermRefView,
    TermView,
)

__all__ = [
    "IN_DOMAIN", "MAX_DOMAINS", "MAX_HISTORY", "MAX_LINKED", "MAX_NAME", "MAX_OWNERS", "MAX_TERMS", "MAX_TEXT",
    "OWNED", "OWNER_TYPES", "PRINCIPAL_KINDS", "TERMED", "CurationChangeView", "CurationView", "DomainDetailView",
    "DomainRefView", "DomainView", "LinkedAssetView", "OwnerView", "TermDetailView", "TermRefView", "TermView",
    "create_domain", "create_term", "curation_history", "curation_of", "delete_domain", "delete_term",
    "domains_of", "find_domain", "find_term", "get_domain", "get_term", "link_term", "list_domains", "list_terms",
    "owners_of", "set_domain", "set_owners", "terms_of", "unlink_term", "update_domain", "update_term",
]
