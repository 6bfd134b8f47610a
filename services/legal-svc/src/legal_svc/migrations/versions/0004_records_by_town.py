"""the records a town's figures count keep their town, indexed with their date

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 03:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Each table kept by town, with the columns its town index holds after the town (legal_svc.towns).
TABLES = {
    'consultations': ['asked_on'],
    'legal_affairs': ['opened_on'],
    'cases': ['registered_on'],
    'enforcement_campaign_units': [],
    'enforcement_inspections': ['inspected_on'],
    'publicity_teams': [],
    'publicity_events': ['held_on'],
    'patrol_logs': ['patrolled_on'],
}


def upgrade() -> None:
    for table, columns in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('town_unit_id', sqlmodel.sql.sqltypes.AutoString(length=26), nullable=True))
        # The town whose path begins the record's unit's (none for a county's record): ids never hold LIKE's wildcards.
        op.execute(
            f"UPDATE {table} SET town_unit_id = (SELECT town.id FROM grid_units AS unit JOIN grid_units AS town "
            f"ON town.level = 'town' AND unit.path LIKE town.path || '%' WHERE unit.id = {table}.unit_id)"
        )
        op.create_index(f'ix_{table}_town', table, ['town_unit_id', *columns], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f'ix_{table}_town', table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('town_unit_id')
