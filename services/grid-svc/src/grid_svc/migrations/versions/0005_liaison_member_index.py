"""liaisons are found by their party member through an index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:10:00
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_liaisons_member', 'liaisons', ['member_id', 'ends_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_liaisons_member', table_name='liaisons')
