"""webhook deliveries without response bodies

The delivery log no longer keeps the start of the target's response: whoever could read the log could read what
any address the catalog reaches answered (a read-SSRF). Existing excerpts are dropped with the column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_column('response_excerpt')


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_excerpt', sa.Text(), nullable=True))
