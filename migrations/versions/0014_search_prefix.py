"""Search finds its candidates by name: an index of the lower-cased name (both databases) and, on PostgreSQL, a GIN
index of the name's words, so that a short prefix no longer ranks and counts every document it matches

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 19:15:00
"""

from __future__ import annotations

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from catalog_api.db.search import create_name_indexes

    create_name_indexes(op.get_bind())


def downgrade() -> None:
    from catalog_api.db.search import drop_name_indexes

    drop_name_indexes(op.get_bind())
