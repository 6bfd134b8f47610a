"""active units tallied per level under each unit, for the subtree counts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 17:30:00
"""

from collections import Counter

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    tallies = op.create_table('unit_tallies',
    sa.Column('unit_id', sqlmodel.sql.sqltypes.AutoString(length=26), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit_id', 'level', 'slot')
    )
    # The tree so far, tallied once; from here on every create, move and retirement keeps the tallies. Each
    # active unit counts under every id of its path ("/county/town/.../unit/") but its own, in a tally's first slot.
    counts = Counter()
    for path, level in op.get_bind().execute(sa.text('SELECT path, level FROM units WHERE retired_at IS NULL')):
        for ancestor in [part for part in path.split('/') if part][:-1]:
            counts[ancestor, level] += 1
    rows = [{'unit_id': unit_id, 'level': level, 'slot': 0, 'units': units} for (unit_id, level), units in sorted(counts.items())]
    if rows:
        op.bulk_insert(tallies, rows)


def downgrade() -> None:
    op.drop_table('unit_tallies')
