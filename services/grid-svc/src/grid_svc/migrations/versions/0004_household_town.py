"""households carry their town, indexed with their code

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 04:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('town_unit_id', sqlmodel.sql.sqltypes.AutoString(length=26), nullable=True))
    # The town whose path begins the household's: ids never hold LIKE's wildcards.
    op.execute(
        "UPDATE households SET town_unit_id = "
        "(SELECT units.id FROM units WHERE units.level = 'town' AND households.unit_path LIKE units.path || '%')"
    )
    op.create_index(
        'ix_households_town_code', 'households', ['town_unit_id', 'code', 'id'], unique=False, postgresql_include=['dissolved_on']
    )


def downgrade() -> None:
    op.drop_index('ix_households_town_code', table_name='households')
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_column('town_unit_id')
