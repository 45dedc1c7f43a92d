"""Data-quality rules with their change history, and one result row per rule and run

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_rule_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('table_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('rule_name', sa.String(length=128), nullable=False),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['table_id'], ['tables.id'], name=op.f('fk_quality_rule_changes_table_id_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_rule_changes'))
    )
    with op.batch_alter_table('quality_rule_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_rule_changes_table_id_rule_name_id'), ['table_id', 'rule_name', 'id'], unique=False)

    op.create_table('quality_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('table_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('column', sa.String(length=512), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.Column('updated_by', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['table_id'], ['tables.id'], name=op.f('fk_quality_rules_table_id_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_rules')),
    sa.UniqueConstraint('table_id', 'name', name=op.f('uq_quality_rules_table_id_name'))
    )
    op.create_table('quality_results',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('table_id', sa.Integer(), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('observed', sa.JSON(), nullable=True),
    sa.Column('failing_rows', sa.BigInteger(), nullable=True),
    sa.Column('sample_keys', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['quality_rules.id'], name=op.f('fk_quality_results_rule_id_quality_rules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['table_id'], ['tables.id'], name=op.f('fk_quality_results_table_id_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_results'))
    )
    with op.batch_alter_table('quality_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_results_rule_id_evaluated_at'), ['rule_id', 'evaluated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_results_table_id_evaluated_at'), ['table_id', 'evaluated_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('quality_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_results_table_id_evaluated_at'))
        batch_op.drop_index(batch_op.f('ix_quality_results_rule_id_evaluated_at'))

    op.drop_table('quality_results')
    op.drop_table('quality_rules')
    with op.batch_alter_table('quality_rule_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_rule_changes_table_id_rule_name_id'))

    op.drop_table('quality_rule_changes')
