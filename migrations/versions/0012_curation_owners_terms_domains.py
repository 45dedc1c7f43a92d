"""Owners, glossary terms and links, domains and their assignments, and the history of terms and domains

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('curation_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('subject_name', sa.String(length=200), nullable=False),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_curation_changes'))
    )
    with op.batch_alter_table('curation_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_curation_changes_subject_kind_subject_id_id'), ['subject_kind', 'subject_id', 'id'], unique=False)

    op.create_table('domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.Column('updated_by', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domains')),
    sa.UniqueConstraint('name', name=op.f('uq_domains_name'))
    )
    op.create_table('glossary_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('definition', sa.Text(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.Column('updated_by', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['glossary_terms.id'], name=op.f('fk_glossary_terms_parent_id_glossary_terms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_glossary_terms')),
    sa.UniqueConstraint('name', name=op.f('uq_glossary_terms_name'))
    )
    with op.batch_alter_table('glossary_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_glossary_terms_parent_id'), ['parent_id'], unique=False)

    op.create_table('domain_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_urn', sa.String(length=2048), nullable=False),
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domains.id'], name=op.f('fk_domain_assignments_domain_id_domains'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['data_sources.id'], name=op.f('fk_domain_assignments_source_id_data_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_assignments')),
    sa.UniqueConstraint('entity_urn', name=op.f('uq_domain_assignments_entity_urn'))
    )
    with op.batch_alter_table('domain_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domain_assignments_domain_id'), ['domain_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_domain_assignments_source_id'), ['source_id'], unique=False)

    op.create_table('glossary_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.Column('entity_urn', sa.String(length=2048), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['data_sources.id'], name=op.f('fk_glossary_links_source_id_data_sources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['term_id'], ['glossary_terms.id'], name=op.f('fk_glossary_links_term_id_glossary_terms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_glossary_links')),
    sa.UniqueConstraint('term_id', 'entity_urn', name=op.f('uq_glossary_links_term_id_entity_urn'))
    )
    with op.batch_alter_table('glossary_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_glossary_links_entity_urn'), ['entity_urn'], unique=False)
        batch_op.create_index(batch_op.f('ix_glossary_links_source_id'), ['source_id'], unique=False)

    op.create_table('owners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_urn', sa.String(length=2048), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('principal', sa.String(length=255), nullable=False),
    sa.Column('principal_kind', sa.String(length=16), nullable=False),
    sa.Column('owner_type', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['data_sources.id'], name=op.f('fk_owners_source_id_data_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_owners')),
    sa.UniqueConstraint('entity_urn', 'principal_kind', 'principal', 'owner_type', name=op.f('uq_owners_entity_urn_principal_kind_principal_owner_type'))
    )
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owners_principal'), ['principal'], unique=False)
        batch_op.create_index(batch_op.f('ix_owners_source_id'), ['source_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_owners_source_id'))
        batch_op.drop_index(batch_op.f('ix_owners_principal'))

    op.drop_table('owners')
    with op.batch_alter_table('glossary_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_glossary_links_source_id'))
        batch_op.drop_index(batch_op.f('ix_glossary_links_entity_urn'))

    op.drop_table('glossary_links')
    with op.batch_alter_table('domain_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domain_assignments_source_id'))
        batch_op.drop_index(batch_op.f('ix_domain_assignments_domain_id'))

    op.drop_table('domain_assignments')
    with op.batch_alter_table('glossary_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_glossary_terms_parent_id'))

    op.drop_table('glossary_terms')
    op.drop_table('domains')
    with op.batch_alter_table('curation_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_curation_changes_subject_kind_subject_id_id'))

    op.drop_table('curation_changes')
