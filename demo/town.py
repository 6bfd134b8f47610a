"""What a demo town holds, generated from a seed before anything is sent: its units, households and
people, party members, teams and cadres, and the deeds of the last few months.

Nothing here talks to the platform, so the same seed and sizes always give the same town (for a
given "today"), and tests can check the shape without a running system.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from demo import names
from demo.shape import TownShape, spread

SHANGHAI = ZoneInfo("Asia/Shanghai")
COUNTY_CODE = "140828"
COUNTY_NAME = "夏县"
REPORTED_TOWN = "禹王镇"
# Towns of the county after the report's own (place names, not persons); more are generated.
OTHER_TOWNS = (
    ("yaofeng", "瑶峰镇"),
    ("miaoqian", "庙前镇"),
    ("peijie", "裴介镇"),
    ("shuitou", "水头镇"),
    ("nianzhang", "埝掌镇"),
    ("sijiao", "泗交镇"),
    ("weiguo", "尉郭乡"),
    ("huzhang", "胡张乡"),
    ("nandali", "南大里乡"),
    ("qijiahe", "祁家河乡"),
)
MONTHS_OF_DEEDS = 4  # the current month and the three before it
# Deeds of the months before those, at county and prefecture size: at most this many per member and month,
# one a day under the daily rule (capped at 31 points a month).
HISTORY_PER_MONTH = 28


@dataclass(frozen=True)
class Sizes:
    """How big the generated data is; the defaults are the report's town."""

    seed: int = 7
    towns: int = 1
    villages: int = 14
    grids: int = 41
    small_grids: int = 139
    micro_grids: int = 431
    households_per_micro_grid: int = 3
    orders_per_village: int = 4
    # Points ledger entries of earlier months, over all towns (0: only the deeds of the last months).
    ledger_entries: int = 0

    def shape(self) -> TownShape:
        """The unit counts of each town."""
        return TownShape(villages=self.villages, grids=self.grids, small_grids=self.small_grids, micro_grids=self.micro_grids)


@dataclass
class UnitPlan:
    """A unit; `ref` is its full code below the town (e.g. v01.g02.s01), so codes and refs agree."""

    ref: str
    code: str
    name: str
    level: str
    parent_ref: str | None


@dataclass
class PersonPlan:
    """A resident (or a town cadre, registered in the town without a household)."""

    name: str
    gender: str
    birth_date: date
    id_number: str
    phone: str | None = None
    household_code: str | None = None
    relation: str | None = None
    unit_ref: str | None = None


@dataclass
class HouseholdPlan:
    """A household in a micro grid with its people (the head first)."""

    code: str
    unit_ref: str
    address: str
    tags: list[str]
    people: list[PersonPlan]


@dataclass
class MemberPlan:
    """A party member: a person joining the organisation of a unit (grid party group or town committee)."""

    person: PersonPlan
    org_unit_ref: str
    joined_on: date
    status: str = "full"


@dataclass
class RolePlan:
    """A role assignment on a unit."""

    person: PersonPlan
    unit_ref: str
    role: str
    title: str | None = None


@dataclass
class LiaisonPlan:
    """A liaison link: member ↔ household, cadre ↔ grid, cadre ↔ household."""

    kind: str
    person: PersonPlan
    household_code: str | None = None
    unit_ref: str | None = None


@dataclass
class GridPlan:
    """One grid with its households, members, 1+1+1+N team and members' household links."""

    ref: str
    name: str
    households: list[HouseholdPlan] = field(default_factory=list)
    members: list[MemberPlan] = field(default_factory=list)
    roles: list[RolePlan] = field(default_factory=list)
    liaisons: list[LiaisonPlan] = field(default_factory=list)


@dataclass
class VillagePlan:
    """A village, its grids, and the town cadre responsible for it (包村干部)."""

    ref: str
    name: str
    grids: list[GridPlan] = field(default_factory=list)
    cadre: PersonPlan | None = None
    cadre_roles: list[RolePlan] = field(default_factory=list)
    cadre_liaisons: list[LiaisonPlan] = field(default_factory=list)

    @property
    def households(self) -> list[HouseholdPlan]:
        """Every household of the village."""
        return [h for g in self.grids for h in g.households]

    @property
    def members(self) -> list[MemberPlan]:
        """Every party member of the village's grids."""
        return [m for g in self.grids for m in g.members]


@dataclass
class HistoryDeed:
    """One day's deed of a member before the demo's months, under the daily rule."""

    member: MemberPlan
    day: date


@dataclass
class TownPlan:
    """One town: units for the batch, the registry village by village, and the period its deeds fall in."""

    index: int
    code: str
    name: str
    reported: bool
    units: list[UnitPlan]
    villages: list[VillagePlan]
    cadre_members: list[MemberPlan]
    today: date
    months: list[str]
    since: date

    @property
    def households(self) -> list[HouseholdPlan]:
        """Every household of the town."""
        return [h for v in self.villages for h in v.households]

    @property
    def members(self) -> list[MemberPlan]:
        """Every party member of the town (grid members and town cadres)."""
        return [m for v in self.villages for m in v.members] + self.cadre_members

    @property
    def household_code_prefix(self) -> str:
        """Household numbers of this town start with this."""
        return f"{self.code[:2].upper()}{self.index:02d}"


def month_starts(today: date, count: int = MONTHS_OF_DEEDS) -> list[date]:
    """First days of the `count` months ending with today's, oldest first."""
    starts = [today.replace(day=1)]
    while len(starts) < count:
        previous = starts[0] - timedelta(days=1)
        starts.insert(0, previous.replace(day=1))
    return starts


def month_last_day(first: date) -> date:
    """The last day of the month that starts on `first`."""
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def ledger_history(plan: TownPlan, entries: int) -> list[HistoryDeed]:
    """`entries` daily deeds of the months before `plan.since`, spread evenly over members and months.

    As many months back as the members need (a member counts from the first month they were in the party
    for all of); each member's deeds of a month fall on its first days, oldest month first.
    """
    members = plan.members
    if entries <= 0 or not members:
        return []
    months: list[date] = []
    slots, first = 0, plan.since
    while slots < entries:
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
        slots += HISTORY_PER_MONTH * sum(1 for m in members if m.joined_on <= first)
        if len(months) > 1200:
            raise ValueError(f"{entries} history entries do not fit {len(members)} members")
    pairs = [(member, start) for start in reversed(months) for member in members if member.joined_on <= start]
    base, extra = divmod(entries, len(pairs))
    deeds = []
    for n, (member, start) in enumerate(pairs):
        deeds += [HistoryDeed(member, start + timedelta(days=d)) for d in range(base + (1 if n < extra else 0))]
    return deeds


def instant_in(rng: random.Random, first: date, last: date, today: date) -> datetime:
    """A daytime instant (Asia/Shanghai) on a day between `first` and `last` that is over before `today` begins.

    Depending on the date only (not the hour) keeps a repeated run's requests identical, so their
    Idempotency-Keys replay instead of clashing. A range with no day before today gives the last
    hour of yesterday.
    """
    last = min(last, today - timedelta(days=1))
    if last < first:
        return datetime.combine(today, time(0), tzinfo=SHANGHAI) - timedelta(hours=1)
    day = first + timedelta(days=rng.randrange((last - first).days + 1))
    return datetime.combine(day, time(rng.randrange(8, 17), rng.choice((0, 15, 30, 45))), tzinfo=SHANGHAI)


def town_identity(index: int) -> tuple[str, str]:
    """(code, name) of the index-th town: 禹王镇 first, then the county's other towns, then generated ones."""
    if index == 0:
        return "yuwang", REPORTED_TOWN
    if index - 1 < len(OTHER_TOWNS):
        return OTHER_TOWNS[index - 1]
    return f"town{index:03d}", f"新{names.VILLAGE_PREFIXES[index % len(names.VILLAGE_PREFIXES)]}{index}镇"


class _People:
    """Makes people with ID numbers unique across the whole run."""

    def __init__(self, rng: random.Random, used_ids: set[str], today: date) -> None:
        self.rng, self.used, self.today = rng, used_ids, today

    def make(self, *, surname: str | None, gender: str, born: int, phone: bool) -> PersonPlan:
        rng = self.rng
        name = names.person_name(rng)
        if surname is not None:
            name = surname + name[1:]
        born = min(born, self.today.year - 1)
        while True:
            number = names.id_number(rng, born, female=gender == "female")
            if number not in self.used:
                self.used.add(number)
                break
        birth = date(born, int(number[10:12]), int(number[12:14]))
        return PersonPlan(name=name, gender=gender, birth_date=birth, id_number=number, phone=names.phone(rng) if phone else None)


def _household_people(people: _People, rng: random.Random, size: int, code: str) -> list[PersonPlan]:
    head_gender = "male" if rng.random() < 0.75 else "female"
    head_born = rng.randrange(1945, 1993)
    head = people.make(surname=None, gender=head_gender, born=head_born, phone=True)
    head.relation = "head"
    family = [head]
    surname = head.name[0]
    if size >= 2:
        spouse = people.make(
            surname=None, gender="female" if head_gender == "male" else "male", born=head_born + rng.randrange(-3, 4), phone=True
        )
        spouse.relation = "spouse"
        family.append(spouse)
    for _ in range(max(0, size - len(family) - (1 if size >= 5 else 0))):
        child = people.make(
            surname=surname,
            gender=rng.choice(("male", "female")),
            born=head_born + rng.randrange(22, 32),
            phone=rng.random() < 0.4,
        )
        child.relation = "child"
        family.append(child)
    if size >= 5:
        parent = people.make(
            surname=surname, gender=rng.choice(("male", "female")), born=head_born - rng.randrange(22, 30), phone=False
        )
        parent.relation = "parent"
        family.append(parent)
    seen: set[str] = set()
    for person in family:
        # Names are unique within a household, so the registry's answers can be matched back by name.
        while person.name in seen:
            person.name = person.name[0] + names.person_name(rng)[1:]
        seen.add(person.name)
        person.household_code = code
    return family


def _tags(rng: random.Random, family: list[PersonPlan], today: date) -> list[str]:
    tags = []
    if len(family) == 1 and today.year - family[0].birth_date.year >= 70:
        tags.append("elderly_alone")
    for tag, chance in (("low_income", 0.05), ("veteran", 0.03), ("left_behind_child", 0.04), ("disabled", 0.03)):
        if rng.random() < chance:
            tags.append(tag)
    return tags


def build_town(index: int, sizes: Sizes, today: date, used_ids: set[str]) -> TownPlan:
    """The whole registry of one town, deterministic for (seed, sizes, index, today)."""
    rng = random.Random(f"{sizes.seed}:town:{index}")
    shape = sizes.shape()
    code, name = town_identity(index)
    reported = index == 0
    people = _People(rng, used_ids, today)
    starts = month_starts(today)
    since = starts[0]
    units = [UnitPlan(ref="", code=code, name=name, level="town", parent_ref=None)]
    village_names = names.village_names(rng, shape.villages, reported=reported)
    grids_per_village = spread(shape.grids, shape.villages)
    smalls_per_grid = spread(shape.small_grids, shape.grids)
    micros_per_small = spread(shape.micro_grids, shape.small_grids)
    villages: list[VillagePlan] = []
    grid_index = small_index = 0
    household_number = 0
    prefix = f"{code[:2].upper()}{index:02d}"
    for v in range(shape.villages):
        village = VillagePlan(ref=f"v{v + 1:02d}", name=village_names[v])
        units.append(UnitPlan(ref=village.ref, code=village.ref, name=village.name, level="village", parent_ref=""))
        for g in range(grids_per_village[v]):
            grid = GridPlan(ref=f"{village.ref}.g{g + 1:02d}", name=f"{village.name}第{g + 1}网格")
            units.append(UnitPlan(ref=grid.ref, code=f"g{g + 1:02d}", name=grid.name, level="grid", parent_ref=village.ref))
            small_households: list[list[HouseholdPlan]] = []
            for s in range(smalls_per_grid[grid_index]):
                small_ref = f"{grid.ref}.s{s + 1:02d}"
                units.append(
                    UnitPlan(
                        ref=small_ref,
                        code=f"s{s + 1:02d}",
                        name=f"{village.name}{g + 1}网格{s + 1}号小网格",
                        level="small_grid",
                        parent_ref=grid.ref,
                    )
                )
                in_small: list[HouseholdPlan] = []
                for m in range(micros_per_small[small_index]):
                    micro_ref = f"{small_ref}.m{m + 1:02d}"
                    units.append(
                        UnitPlan(
                            ref=micro_ref,
                            code=f"m{m + 1:02d}",
                            name=f"{village.name}{g + 1}-{s + 1}-{m + 1}号微网格",
                            level="micro_grid",
                            parent_ref=small_ref,
                        )
                    )
                    for _ in range(sizes.households_per_micro_grid):
                        household_number += 1
                        household_code = f"{prefix}V{v + 1:02d}H{household_number:05d}"
                        size = rng.choices((1, 2, 3, 4, 5), weights=(10, 25, 30, 25, 10))[0]
                        family = _household_people(people, rng, size, household_code)
                        household = HouseholdPlan(
                            code=household_code,
                            unit_ref=micro_ref,
                            address=names.address(rng, name, village.name, household_number),
                            tags=_tags(rng, family, today),
                            people=family,
                        )
                        in_small.append(household)
                small_households.append(in_small)
                grid.households.extend(in_small)
                small_index += 1
            _grid_team(rng, grid, small_households, since)
            village.grids.append(grid)
            grid_index += 1
        villages.append(village)
    cadre_members = [_village_cadre(rng, people, village, since) for village in villages]
    taken: set[str] = set()
    for member in cadre_members:
        # Cadres live in the town without a household: their names are unique there, so answers match back by name.
        while member.person.name in taken:
            member.person.name = member.person.name[0] + names.person_name(rng)[1:]
        taken.add(member.person.name)
    return TownPlan(
        index=index,
        code=code,
        name=name,
        reported=reported,
        units=units,
        villages=villages,
        cadre_members=cadre_members,
        today=today,
        months=[s.strftime("%Y-%m") for s in starts],
        since=since,
    )


def _adults(households: list[HouseholdPlan]) -> list[PersonPlan]:
    return [p for h in households for p in h.people if p.relation in ("head", "spouse", "child")]


def _grid_team(rng: random.Random, grid: GridPlan, small_households: list[list[HouseholdPlan]], since: date) -> None:
    """One party member per small grid, linked to its households; the 1+1+1 core and N members on the grid."""
    for households in small_households:
        adults = _adults(households)
        if not adults:
            continue
        person = rng.choice(adults)
        probationary = rng.random() < 0.05
        joined = (
            since - timedelta(days=rng.randrange(200, 360))
            if probationary
            else date(rng.randrange(1980, 2022), rng.randrange(1, 13), 1)
        )
        grid.members.append(
            MemberPlan(person=person, org_unit_ref=grid.ref, joined_on=joined, status="probationary" if probationary else "full")
        )
        grid.liaisons += [LiaisonPlan(kind="member_household", person=person, household_code=h.code) for h in households]
    members = {id(m.person) for m in grid.members}
    others = [p for p in _adults(grid.households) if id(p) not in members]
    rng.shuffle(others)
    if grid.members:
        grid.roles.append(RolePlan(grid.members[0].person, grid.ref, "grid_leader", "网格长"))
    for role, title, person in zip(
        ("grid_worker", "grid_assistant", "volunteer"), ("全科网格员", "全科网格辅助员", "志愿者"), others, strict=False
    ):
        grid.roles.append(RolePlan(person, grid.ref, role, title))
    grid.roles += [RolePlan(m.person, grid.ref, "party_member", "党员") for m in grid.members[1:]]


def _village_cadre(rng: random.Random, people: _People, village: VillagePlan, since: date) -> MemberPlan:
    """The town cadre who looks after a village: a party member of the town committee, linked to every grid and 10+ households."""
    cadre = people.make(surname=None, gender=rng.choice(("male", "female")), born=rng.randrange(1970, 1996), phone=True)
    cadre.unit_ref = ""
    village.cadre = cadre
    village.cadre_roles.append(RolePlan(cadre, village.ref, "cadre", "包村干部"))
    village.cadre_liaisons += [LiaisonPlan(kind="cadre_grid", person=cadre, unit_ref=g.ref) for g in village.grids]
    households = village.households
    chosen = sorted(rng.sample(range(len(households)), min(12, len(households))))
    village.cadre_liaisons += [
        LiaisonPlan(kind="cadre_household", person=cadre, household_code=households[i].code) for i in chosen
    ]
    return MemberPlan(person=cadre, org_unit_ref="", joined_on=date(rng.randrange(1995, 2020), rng.randrange(1, 13), 1))
