"""Datasets known only from OpenLineage keep the columns their schema facet reported

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reported_datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('urn', sa.String(length=2048), nullable=False),
    sa.Column('namespace', sa.String(length=1024), nullable=False),
    sa.Column('name', sa.String(length=1024), nullable=False),
    sa.Column('job_namespace', sa.String(length=1024), nullable=False),
    sa.Column('job_name', sa.String(length=1024), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('producer', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reported_datasets')),
    sa.UniqueConstraint('urn', name=op.f('uq_reported_datasets_urn'))
    )
    op.create_table('reported_columns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('data_type', sa.String(length=512), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['reported_datasets.id'],
                            name=op.f('fk_reported_columns_dataset_id_reported_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reported_columns')),
    sa.UniqueConstraint('dataset_id', 'name', name=op.f('uq_reported_columns_dataset_id_name'))
    )


def downgrade() -> None:
    op.drop_table('reported_columns')
    op.drop_table('reported_datasets')
