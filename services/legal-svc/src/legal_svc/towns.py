"""The town each record lies in, kept on the record tables that a town's figures read.

Read through the unit replica alone (`unit_id` in the town's units), a town's figures went through every town's
records in the period and looked each one's unit up: at 134 towns, 43 ms of the database for one town's figures,
and growing with every town. So each table the figures count keeps `town_unit_id`, the town its record's unit
lies in now, indexed with the table's date: a town's figures read that town's records, and a village's the
town's records of its units. The town is set from the unit's path when a record is written and follows a
move that takes a unit to another town (`follow_move`). County records (campaigns covering a county) have none.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.advisers.models import Consultation, LegalAffair
from legal_svc.cases.models import Case
from legal_svc.enforcement.models import CampaignUnit, Inspection
from legal_svc.patrols.models import PatrolLog
from legal_svc.publicity.models import PublicityEvent, PublicityTeam
from legal_svc.units import units_under
from shared.scope import town_of

TOWN_KEPT = (Consultation, LegalAffair, Case, CampaignUnit, Inspection, PublicityTeam, PublicityEvent, PatrolLog)


async def follow_move(session: AsyncSession, path: str) -> None:
    """Give the records of every unit under `path` (a moved unit's new path) the town that path lies in."""
    town = town_of(path)
    units = units_under(path)
    for model in TOWN_KEPT:
        await session.execute(
            update(model).where(model.unit_id.in_(units), model.town_unit_id.is_distinct_from(town)).values(town_unit_id=town)
        )
