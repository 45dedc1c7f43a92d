"""profiles, anomalies and reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:44:46.533428
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('table_profiles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('table_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=False),
    sa.Column('column_count', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('duplicate_rows_estimate', sa.BigInteger(), nullable=True),
    sa.Column('spark_jobs', sa.Integer(), nullable=True),
    sa.Column('read_from', sa.String(length=16), nullable=False),
    sa.Column('lake_runs', sa.JSON(), nullable=False),
    sa.Column('sample_rows', sa.Integer(), nullable=True),
    sa.Column('candidate_keys', sa.JSON(), nullable=False),
    sa.Column('foreign_keys', sa.JSON(), nullable=False),
    sa.Column('anomaly_count', sa.Integer(), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['table_id'], ['tables.id'], name=op.f('fk_table_profiles_table_id_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_table_profiles'))
    )
    with op.batch_alter_table('table_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_table_profiles_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_table_profiles_table_id_started_at'), ['table_id', 'started_at'], unique=False)

    op.create_table('column_profiles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('table_profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('column_urn', sa.String(length=2048), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['table_profile_id'], ['table_profiles.id'], name=op.f('fk_column_profiles_table_profile_id_table_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_column_profiles')),
    sa.UniqueConstraint('table_profile_id', 'name', name=op.f('uq_column_profiles_table_profile_id_name'))
    )
    with op.batch_alter_table('column_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_column_profiles_column_urn_table_profile_id'), ['column_urn', 'table_profile_id'], unique=False)

    op.create_table('profile_anomalies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('table_profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('table_id', sa.Integer(), nullable=False),
    sa.Column('subject_urn', sa.String(length=2048), nullable=False),
    sa.Column('column', sa.String(length=512), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('observed', sa.JSON(), nullable=True),
    sa.Column('expected', sa.JSON(), nullable=True),
    sa.Column('expected_min', sa.Float(), nullable=True),
    sa.Column('expected_max', sa.Float(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['table_id'], ['tables.id'], name=op.f('fk_profile_anomalies_table_id_tables'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['table_profile_id'], ['table_profiles.id'], name=op.f('fk_profile_anomalies_table_profile_id_table_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_anomalies'))
    )
    with op.batch_alter_table('profile_anomalies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profile_anomalies_table_id_detected_at'), ['table_id', 'detected_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_profile_anomalies_table_profile_id'), ['table_profile_id'], unique=False)

    op.create_table('profile_reports',
    sa.Column('table_profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['table_profile_id'], ['table_profiles.id'], name=op.f('fk_profile_reports_table_profile_id_table_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('table_profile_id', name=op.f('pk_profile_reports'))
    )
    with op.batch_alter_table('tables', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anomaly_thresholds', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('tables', schema=None) as batch_op:
        batch_op.drop_column('anomaly_thresholds')

    op.drop_table('profile_reports')
    with op.batch_alter_table('profile_anomalies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profile_anomalies_table_profile_id'))
        batch_op.drop_index(batch_op.f('ix_profile_anomalies_table_id_detected_at'))

    op.drop_table('profile_anomalies')
    with op.batch_alter_table('column_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_column_profiles_column_urn_table_profile_id'))

    op.drop_table('column_profiles')
    with op.batch_alter_table('table_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_table_profiles_table_id_started_at'))
        batch_op.drop_index(batch_op.f('ix_table_profiles_job_id'))

    op.drop_table('table_profiles')
