"""entry tallies per unit and month, kept with every entry; a town's entries indexed newest first

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('entry_tallies',
    sa.Column('unit_path', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('town_unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit_path', 'period')
    )
    op.create_index('ix_entry_tallies_path', 'entry_tallies', ['unit_path'], unique=False, postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.create_index('ix_entry_tallies_town_period', 'entry_tallies', ['town_unit_id', 'period'], unique=False)
    # The ledger so far, tallied once; from here on every append keeps its tally. An entry's town follows from
    # its unit_path (the path's second id), so MIN picks a group's one town.
    op.execute(
        'INSERT INTO entry_tallies (unit_path, period, town_unit_id, entries) '
        'SELECT unit_path, period, MIN(town_unit_id), COUNT(*) FROM entries GROUP BY unit_path, period'
    )
    op.create_index('ix_entries_town_id', 'entries', ['town_unit_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_entries_town_id', table_name='entries')
    op.drop_index('ix_entry_tallies_town_period', table_name='entry_tallies')
    op.drop_index('ix_entry_tallies_path', table_name='entry_tallies', postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.drop_table('entry_tallies')
