"""people carry their unit's town, indexed with their name

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 06:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('town_unit_id', sqlmodel.sql.sqltypes.AutoString(length=26), nullable=True))
    # The town whose path begins the path of the person's unit (none for a county): ids never hold LIKE's wildcards.
    op.execute(
        "UPDATE people SET town_unit_id = (SELECT towns.id FROM units JOIN units AS towns"
        " ON towns.level = 'town' AND units.path LIKE towns.path || '%' WHERE units.id = people.unit_id)"
    )
    op.create_index('ix_people_town_name', 'people', ['town_unit_id', 'name', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_people_town_name', table_name='people')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('town_unit_id')
