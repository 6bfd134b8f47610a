"""Routing: whom a new order is proposed to — the liaison cadre for the household or its grid,
or a provider offering the service in that area with capacity left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.catalogue.models import RouteTo, ServiceType
from dispatch_svc.providers.models import Provider, ProviderService
from dispatch_svc.providers.service import used_capacity
from dispatch_svc.roster.models import Liaison, LiaisonKind
from shared.scope import path_ids


@dataclass(frozen=True)
class LiaisonCandidate:
    """A person answering for the order's household or grid."""

    person_id: str
    name: str
    kind: LiaisonKind
    unit_id: str


@dataclass(frozen=True)
class ProviderCandidate:
    """A provider offering the service where the order is, with its capacity this month."""

    provider_id: str
    name: str
    area_unit_id: str
    capacity: int
    used: int

    @property
    def left(self) -> int:
        """Dispatches still possible this month."""
        return max(self.capacity - self.used, 0)


@dataclass(frozen=True)
class Routing:
    """The candidates for one order, best first, and the proposal taken from them."""

    route_to: RouteTo
    liaisons: list[LiaisonCandidate]
    providers: list[ProviderCandidate]

    @property
    def liaison(self) -> LiaisonCandidate | None:
        """The liaison proposed, if any."""
        return self.liaisons[0] if self.liaisons else None

    @property
    def provider(self) -> ProviderCandidate | None:
        """The first provider with capacity left, if any."""
        return next((p for p in self.providers if p.left > 0), None)


def _active_on(day: date):  # noqa: ANN202 - a SQL condition
    return (Liaison.starts_on <= day) & (Liaison.ended_on.is_(None) | (Liaison.ended_on > day))


async def liaison_candidates(session: AsyncSession, *, unit_path: str, household_id: str | None, day: date) -> list[LiaisonCandidate]:
    """Cadres linked to the household, then cadres of the grids above the unit (nearest first),
    then party members linked to the household."""
    unit_ids = path_ids(unit_path)
    depth = {unit_id: index for index, unit_id in enumerate(unit_ids)}
    conditions = [(Liaison.kind == LiaisonKind.CADRE_GRID) & Liaison.unit_id.in_(unit_ids)]
    if household_id is not None:
        conditions.append(Liaison.kind.in_([LiaisonKind.CADRE_HOUSEHOLD, LiaisonKind.MEMBER_HOUSEHOLD]) & (Liaison.household_id == household_id))
    rows = (await session.execute(select(Liaison).where(or_(*conditions), _active_on(day)).order_by(Liaison.starts_on, Liaison.id))).scalars().all()
    rank = {LiaisonKind.CADRE_HOUSEHOLD: 0, LiaisonKind.CADRE_GRID: 1, LiaisonKind.MEMBER_HOUSEHOLD: 2}
    ordered = sorted(rows, key=lambda l: (rank[l.kind], -depth.get(l.unit_id, -1)))
    seen: set[str] = set()
    candidates = []
    for liaison in ordered:
        if liaison.person_id not in seen:
            seen.add(liaison.person_id)
            candidates.append(LiaisonCandidate(liaison.person_id, liaison.name, liaison.kind, liaison.unit_id))
    return candidates


async def provider_candidates(session: AsyncSession, *, unit_path: str, service_type_id: str, month: str) -> list[ProviderCandidate]:
    """Active providers offering the service whose area contains the unit: the most local first,
    then the one with most capacity left."""
    rows = (
        await session.execute(
            select(Provider).where(
                Provider.active.is_(True),
                literal(unit_path).startswith(Provider.area_path),
                Provider.id.in_(select(ProviderService.provider_id).where(ProviderService.service_type_id == service_type_id)),
            )
        )
    ).scalars().all()
    used = await used_capacity(session, provider_ids=[p.id for p in rows], month=month)
    candidates = [ProviderCandidate(p.id, p.name, p.area_unit_id, p.capacity_per_month, used[p.id]) for p in rows]
    paths = {p.id: p.area_path for p in rows}
    return sorted(candidates, key=lambda c: (-len(paths[c.provider_id]), -c.left, c.name, c.provider_id))


async def route(
    session: AsyncSession, *, service_type: ServiceType, unit_path: str, household_id: str | None, day: date, month: str
) -> Routing:
    """Every candidate for an order of `service_type` at `unit_path`."""
    return Routing(
        route_to=service_type.route_to,
        liaisons=await liaison_candidates(session, unit_path=unit_path, household_id=household_id, day=day),
        providers=await provider_candidates(session, unit_path=unit_path, service_type_id=service_type.id, month=month),
    )
