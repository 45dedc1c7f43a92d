"""The search index: one document per live source, schema, table and column, with the database's full-text index
(a GIN-indexed tsvector on PostgreSQL, FTS5 on SQLite), backfilled from the catalog

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('urn', sa.String(length=2048), nullable=False),
    sa.Column('entity_kind', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('source_name', sa.String(length=128), nullable=False),
    sa.Column('schema_name', sa.String(length=512), nullable=True),
    sa.Column('table_id', sa.Integer(), nullable=True),
    sa.Column('table_name', sa.String(length=512), nullable=True),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('has_pii', sa.Boolean(), nullable=False),
    sa.Column('has_anomalies', sa.Boolean(), nullable=False),
    sa.Column('name_text', sa.Text(), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('tag_text', sa.Text(), nullable=False),
    sa.Column('context_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['data_sources.id'], name=op.f('fk_search_documents_source_id_data_sources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['table_id'], ['tables.id'], name=op.f('fk_search_documents_table_id_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_documents')),
    sa.UniqueConstraint('urn', name=op.f('uq_search_documents_urn'))
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_documents_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_documents_source_id_entity_kind'), ['source_id', 'entity_kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_documents_table_id'), ['table_id'], unique=False)

    from catalog_api.db.search import create_fulltext
    from catalog_api.services.search.documents import rebuild

    connection = op.get_bind()
    create_fulltext(connection)
    # The backfill builds documents with the service's one builder; owners, terms and domains come with their tables
    # (0012), and 0013 rebuilds the documents with them.
    with Session(bind=connection) as session:
        rebuild(session, curated=False)
        session.flush()


def downgrade() -> None:
    from catalog_api.db.search import drop_fulltext

    drop_fulltext(op.get_bind())
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_documents_table_id'))
        batch_op.drop_index(batch_op.f('ix_search_documents_source_id_entity_kind'))
        batch_op.drop_index(batch_op.f('ix_search_documents_kind'))

    op.drop_table('search_documents')
