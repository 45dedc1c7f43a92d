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

    with Session(bind=op.get_bind()) as session:
        rebuild(session)
        session.flush()


def downgrade() -> None:
    pass  # the documents of 0012 hold the same columns; their extra words are harmless until the next rebuild
