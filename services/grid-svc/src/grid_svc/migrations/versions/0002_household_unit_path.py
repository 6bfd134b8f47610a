"""households carry their micro grid's path

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 18:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added empty, filled from each household's unit, then required: existing rows keep their place.
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_path', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False, server_default=''))
    op.execute('UPDATE households SET unit_path = (SELECT units.path FROM units WHERE units.id = households.unit_id)')
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.alter_column('unit_path', server_default=None)
        batch_op.create_index(
            'ix_households_unit_path', ['unit_path', 'dissolved_on'], unique=False, postgresql_ops={'unit_path': 'text_pattern_ops'}
        )


def downgrade() -> None:
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index('ix_households_unit_path', postgresql_ops={'unit_path': 'text_pattern_ops'})
        batch_op.drop_column('unit_path')
