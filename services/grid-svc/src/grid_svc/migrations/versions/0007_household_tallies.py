"""households tallied per micro grid, for the lists' totals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 12:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('household_tallies',
    sa.Column('unit_path', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('town_unit_id', sqlmodel.sql.sqltypes.AutoString(length=26), nullable=True),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit_path')
    )
    op.create_index('ix_household_tallies_path', 'household_tallies', ['unit_path'], unique=False, postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.create_index('ix_household_tallies_town', 'household_tallies', ['town_unit_id'], unique=False)
    # The registry so far, tallied once; from here on every registration, move and dissolution keeps its tally.
    # A micro grid's households share its path and so its town: MIN picks a group's one town.
    op.execute(
        'INSERT INTO household_tallies (unit_path, town_unit_id, households) '
        'SELECT unit_path, MIN(town_unit_id), COUNT(*) FROM households WHERE dissolved_on IS NULL GROUP BY unit_path'
    )


def downgrade() -> None:
    op.drop_index('ix_household_tallies_town', table_name='household_tallies')
    op.drop_index('ix_household_tallies_path', table_name='household_tallies', postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.drop_table('household_tallies')
