"""Search finds the documents whose name holds a word prefix through a table of (word, document) pairs on PostgreSQL
(`search_name_words`, kept by triggers) instead of 0015's stored `name_words`: a prefix's first 500 documents in id
order read a range of a btree instead of walking every document in id order (17,000 rows for `hous`)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 22:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from catalog_api.db.search import create_name_word_table

    create_name_word_table(op.get_bind())


def downgrade() -> None:
    from catalog_api.db.search import drop_name_word_table

    drop_name_word_table(op.get_bind())
