"""The search index holds owners, glossary terms and domains: every document is rebuilt, so that a catalog curated
before this version finds its owners', terms' and domains' names

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 17:30:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.orm import Session

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from catalog_api.services.search.documents import rebuild

    connection = op.get_bind()
    with Session(bind=connection) as session:
        rebuild(session)
        session.flush()
    if connection.dialect.name == "postgresql":
        # fresh statistics: without them the planner takes a filter for a handful of rows and hashes every document
        # it selects instead of looking the full-text hits up by id (88 ms instead of 15 for a word with filters)
        op.execute("ANALYZE search_documents")


def downgrade() -> None:
    pass  # the documents of 0012 hold the same columns; their extra words are harmless until the next rebuild
