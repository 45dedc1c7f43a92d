"""Search reads the name's words from a stored column on PostgreSQL (`name_words`, GIN-indexed) instead of computing
them per row from 0014's expression index: the first candidates of a short prefix in a tenth of the time

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 20:05:00
"""

from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from catalog_api.db.search import store_name_words

    store_name_words(op.get_bind())


def downgrade() -> None:
    from catalog_api.db.search import unstore_name_words

    unstore_name_words(op.get_bind())
