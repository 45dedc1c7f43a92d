"""The catalog's own database: SQLAlchemy models and engine/session handling."""

# Every table module registers on `Base.metadata` here, so the metadata is complete (for migrations and their test)
# whichever model module is imported first.
from catalog_api.db import access, curation, quality, reported, search  # noqa: F401
