"""Loading demo towns through the gateway's public API, as a county system and its users would.

The bootstrap admin creates the county, the county system's API key and the towns' users; the
key and the users' bearer tokens do everything else. Every create carries an Idempotency-Key
derived from the seed, and the key is kept in a file, so a run that crashed can be repeated
without doubling anything. A town whose current month's points notice is already open is
complete: a repeated run says "already loaded" and leaves it alone.
"""

from __future__ import annotations

import csv
import io
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any, TypeVar

from demo import accounts, names
from demo.client import Api, ApiError, eventually, login
from demo.town import (
    COUNTY_CODE,
    COUNTY_NAME,
    SHANGHAI,
    HouseholdPlan,
    MemberPlan,
    PersonPlan,
    Sizes,
    TownPlan,
    build_town,
    instant_in,
    ledger_history,
    month_last_day,
    month_starts,
)

T = TypeVar("T")
R = TypeVar("R")

DOMAINS = ("grid", "points", "dispatch", "legal")
KEY_NAME = "夏县社会治理综合平台"
# An import is one write transaction in grid-svc, which writes one at a time on SQLite: more in flight only queue
# up behind each other (and past the gateway's upstream timeout).
IMPORTS_IN_FLIGHT = 2
# Ledger history goes to points-svc in batches of this many entries, one branch per batch (each batch locks
# its branch's chain), a few branches at once.
LEDGER_BATCH = 2000
LEDGER_IN_FLIGHT = 3
# Items per page when reading a list back (the APIs' largest page).
PAGE_SIZE = 200
# Asynchronous effects (events reaching the other services) are waited for this long at most; a town of a
# county's density sends tens of thousands of registry events, which the consumers take minutes to apply.
EVENT_DEADLINE_S = 180.0
EVENT_DEADLINE_PER_HOUSEHOLD_S = 0.1

SERVICE_TYPES = [
    {
        "code": "emergency_rescue_training",
        "name": "应急救护培训",
        "category": "emergency_training",
        "route_to": "provider",
        "response_hours": 48,
        "completion_days": 30,
        "description": "红十字会应急救护（心肺复苏、止血包扎）培训进村",
    },
    {
        "code": "drum_training",
        "name": "锣鼓培训",
        "category": "culture",
        "route_to": "provider",
        "response_hours": 48,
        "completion_days": 30,
        "description": "锣鼓协会志愿者教授威风锣鼓",
    },
    {
        "code": "home_repairs",
        "name": "水电维修",
        "category": "repairs",
        "route_to": "liaison",
        "response_hours": 24,
        "completion_days": 3,
        "description": "水管、电路等小修小补",
    },
    {
        "code": "elderly_visit",
        "name": "独居老人探访",
        "category": "elderly_care",
        "route_to": "liaison",
        "response_hours": 24,
        "completion_days": 2,
        "description": "上门探视、代购生活用品",
    },
    {
        "code": "health_check",
        "name": "上门健康检查",
        "category": "health",
        "route_to": "liaison",
        "response_hours": 24,
        "completion_days": 5,
        "description": "量血压、测血糖、用药提醒",
    },
    {
        "code": "legal_help",
        "name": "法律咨询预约",
        "category": "legal",
        "route_to": "liaison",
        "response_hours": 24,
        "completion_days": 7,
        "description": "预约法律顾问上门答疑",
    },
]
ORDER_TYPES = ("home_repairs", "elderly_visit", "health_check", "legal_help")
ORDER_TEXTS = {
    "home_repairs": ("厨房水管漏水，请帮忙维修", "院里电灯不亮，线路老化", "水龙头关不严"),
    "elderly_visit": ("老人独居，子女在外打工，请定期探望", "请帮老人代购米面油"),
    "health_check": ("老人血压偏高，请上门测量", "需要测血糖并提醒用药"),
    "legal_help": ("土地承包合同有疑问，想咨询律师", "想了解赡养纠纷怎么处理"),
}
LECTURE_THEMES = (
    "防范电信网络诈骗",
    "民法典进农村",
    "冬小麦田间管理",
    "果树修剪与病虫害防治",
    "安全用电常识",
    "党的二十大精神宣讲",
    "移风易俗 文明新风",
    "反家庭暴力法解读",
    "农村人居环境整治",
    "食品安全与健康饮食",
    "森林防火知识",
    "老年人防骗指南",
)
LECTURE_PLACES = ("田间地头", "村委会议室", "新时代文明实践站", "农家院落", "生产车间", "村文化广场")
RULES = [
    {
        "code": "SVC-ORDER",
        "name": "服务群众工单办结",
        "category": "service",
        "points": 5,
        "monthly_cap": 50,
        "trigger": "order_completed",
    },
    {"code": "LECTURE", "name": "微讲堂授课", "category": "lecture", "points": 10, "monthly_cap": 40, "trigger": "lecture_held"},
    {
        "code": "MEDIATION",
        "name": "参与矛盾纠纷调解",
        "category": "dispute_mediation",
        "points": 10,
        "monthly_cap": 50,
        "trigger": "mediation_concluded",
    },
    {"code": "REVITALIZE", "name": "参与乡村振兴项目", "category": "rural_revitalization", "points": 5, "monthly_cap": 20},
    {"code": "ENVIRONMENT", "name": "人居环境整治志愿服务", "category": "living_environment", "points": 3, "monthly_cap": 15},
    {"code": "EPIDEMIC", "name": "疫情防控志愿服务", "category": "epidemic_prevention", "points": 5, "monthly_cap": 20},
    {"code": "ABSENT", "name": "无故缺席组织生活", "category": "deduction", "points": -5},
]
# The rule of the earlier months' daily deeds (county and prefecture sizes only).
DAILY_RULE = {"code": "DAILY", "name": "党员责任区每日巡查", "category": "living_environment", "points": 1, "monthly_cap": 31}
DAILY_DEEDS = ("巡查责任区环境卫生", "走访联系户", "巡查河道沟渠", "排查用电用火隐患", "劝导文明新风")
MANUAL_DEEDS = {
    "REVITALIZE": ("帮助村集体合作社销售苹果", "参与高标准农田建设", "协助引进食用菌种植项目"),
    "ENVIRONMENT": ("参与村庄环境卫生整治", "清理房前屋后垃圾", "参与河道清淤"),
    "EPIDEMIC": ("协助入户开展疫苗接种宣传", "在卡点值守"),
    "ABSENT": ("无故缺席主题党日活动",),
}
CONSULTATION_TOPICS = {
    "land": ("宅基地边界有争议怎么办？", "建议先由村委会调解，保留土地使用证等凭证，必要时申请确权。"),
    "family": ("老人赡养费子女不给怎么办？", "子女有赡养义务，可先行调解，调解不成可向法院起诉。"),
    "labour": ("在外打工被拖欠工资怎么维权？", "保存考勤和转账记录，可向劳动监察投诉或申请劳动仲裁。"),
    "contract": ("土地流转合同要注意什么？", "写明期限、用途、租金支付方式和违约责任，并到村委会备案。"),
    "debt": ("借钱给亲戚没写借条怎么办？", "可补写借条或保留转账记录、聊天记录作为证据。"),
    "inheritance": ("父母去世后老宅如何继承？", "无遗嘱时按法定继承，第一顺序为配偶、子女、父母。"),
    "fraud": ("接到自称客服的退款电话怎么办？", "不要透露验证码，不点陌生链接，立即拨打96110核实。"),
    "neighbour": ("邻居排水流到我家院里怎么办？", "相邻关系应互谅互让，可请网格员或调解员协调。"),
}
CASE_FACTS = {
    "neighbour": ("两户因院墙滴水和排水沟走向发生争执。", "排水沟改道及损失赔偿"),
    "land": ("两户对承包地地界认识不一，多次发生口角。", "地界位置及青苗补偿"),
    "family": ("兄弟之间因老人赡养费用分担产生矛盾。", "赡养费分担比例"),
    "debt": ("村民之间借款到期未还，双方对金额有分歧。", "借款本金及还款期限"),
    "damages": ("村民饲养的羊群啃食邻户麦苗。", "青苗损失赔偿金额"),
    "labour": ("务工人员与包工头因工钱结算发生纠纷。", "拖欠工资数额"),
    "contract": ("农机作业费用结算发生争议。", "作业亩数与费用"),
}
CAMPAIGNS = [
    ("street_front_business", "临街商铺占道经营整治"),
    ("illegal_structures", "农村违法占地建房清理"),
    ("environment", "秸秆禁烧专项整治"),
    ("market_order", "农资市场秩序检查"),
    ("safety", "冬季燃气安全排查"),
    ("environment", "河道“四乱”清理"),
    ("safety", "自建房安全隐患排查"),
    ("street_front_business", "集市周边交通秩序整治"),
    ("market_order", "校园周边食品安全检查"),
    ("environment", "畜禽养殖污染治理"),
    ("other", "户外广告牌匾规范"),
    ("safety", "烟花爆竹非法经营整治"),
]
VILLAGE_RULES = """为推进{village}自治、法治、德治相结合，经村民代表会议讨论通过，制定本村规民约。
一、热爱祖国，遵纪守法，自觉维护社会治安秩序。
二、爱护公共设施，保持房前屋后整洁，垃圾分类投放，不乱堆乱放。
三、孝敬老人，关爱儿童，家庭和睦，邻里互助，矛盾纠纷先找网格员、调解员化解。
四、移风易俗，红白喜事从简办理，不大操大办，不铺张浪费。
五、严禁私搭乱建、占用耕地建房，秸秆不焚烧，注意防火用电安全。
六、积极参加党员联系户、志愿服务和微讲堂等活动，争创星级文明户。
七、本村规民约自村民代表会议通过之日起施行，由村民委员会负责解释。"""
PUBLICITY_TEAMS = [
    ("lecturer_group", "普法讲师团"),
    ("volunteer_team", "普法志愿服务队"),
    ("legal_savvy_villagers", "乡村法律明白人"),
]


@dataclass
class LoadOptions:
    """Where to load, how much, and as whom."""

    gateway: str
    sizes: Sizes = field(default_factory=Sizes)
    admin_username: str = accounts.ADMIN_USERNAME
    admin_password: str = accounts.ADMIN_PASSWORD
    key_file: Path | None = None
    concurrency: int = 8
    today: date | None = None
    # Called with the number of towns loaded so far after each town this run loads (a benchmark's maintenance);
    # False stops the run there.
    after_town: Callable[[int], bool] | None = None


@dataclass
class TownResult:
    """What was loaded for one town (or that it was already there)."""

    name: str
    unit_id: str
    first_village_id: str | None
    already_loaded: bool
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class LoadResult:
    """The outcome of a run."""

    county_id: str
    towns: list[TownResult]
    seconds: float
    since: date
    months: list[str]
    phases: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def already_loaded(self) -> bool:
        """True when every town was complete before this run."""
        return all(t.already_loaded for t in self.towns)


class Loader:
    """Builds the county's demo towns through the gateway."""

    def __init__(self, options: LoadOptions, log: Callable[[str], None] = print) -> None:
        self.options = options
        self.sizes = options.sizes
        self.log = log
        self.started = time.monotonic()
        self.pool = ThreadPoolExecutor(max_workers=options.concurrency)
        self.clients: list[Api] = []
        self.used_ids: set[str] = set()
        self.today = options.today or datetime.now(SHANGHAI).date()
        # Per step, over all towns: seconds, and how many records when the step counts them.
        self.phases: dict[str, dict[str, float]] = {}
        households = self.sizes.micro_grids * self.sizes.households_per_micro_grid
        self.event_deadline = max(EVENT_DEADLINE_S, EVENT_DEADLINE_PER_HOUSEHOLD_S * households)

    # --- plumbing -----------------------------------------------------------------------------

    def say(self, message: str) -> None:
        """Log a step with the time since the start."""
        self.log(f"[{time.monotonic() - self.started:6.1f}s] {message}")

    def each(self, work: Callable[[T], R], items: Iterable[T], *, limit: int | None = None) -> list[R]:
        """Run `work` on every item with bounded concurrency (at most `limit` at once), in order; the first failure is raised."""
        if limit is None or limit >= self.options.concurrency:
            return list(self.pool.map(work, items))
        gate = threading.BoundedSemaphore(limit)

        def gated(item: T) -> R:
            with gate:
                return work(item)

        return list(self.pool.map(gated, items))

    def idem(self, *parts: object) -> str:
        """A stable Idempotency-Key for one create of this seed's data."""
        return "demo-" + "-".join(str(p) for p in (self.sizes.seed, *parts))

    def all_items(self, api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list, in order: the first page tells how many pages there are, and the
        others are read at once (a town at a county's density has about a hundred pages of people)."""
        first = api.get(path, **params, page=1, per_page=PAGE_SIZE)
        pages = range(2, -(-first["total"] // first["per_page"]) + 1)
        rest = self.each(lambda page: api.get(path, **params, page=page, per_page=PAGE_SIZE)["items"], pages)
        return [*first["items"], *(item for items in rest for item in items)]

    def _track(self, api: Api) -> Api:
        self.clients.append(api)
        return api

    def close(self) -> None:
        """Release connections and threads."""
        self.pool.shutdown(wait=True)
        for api in self.clients:
            api.close()

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> LoadResult:
        """Load every town (skipping complete ones); the county's id and what each town got."""
        gateway = self.options.gateway
        if not hasattr(self, "admin"):
            self.say(f"logging in to {gateway} as {self.options.admin_username}")
            self.admin = self._track(login(gateway, self.options.admin_username, self.options.admin_password))
        county = self._county()
        self.county_id = county["id"]
        self.key = self._track(Api(gateway, api_key=self._county_key(county["id"])))
        results = []
        catalogue_ready = False
        for index in range(self.sizes.towns):
            town_started = time.monotonic()
            plan = build_town(index, self.sizes, self.today, self.used_ids)
            existing = self._find_town(plan.name)
            if existing is not None and self._complete(existing["id"], plan):
                self.say(f"{plan.name} already loaded ({existing['id']}): nothing to do")
                villages = self.admin.get("/api/v1/grid/units", under=existing["id"], level="village", q=plan.villages[0].name)[
                    "items"
                ]
                first = next((u["id"] for u in villages if u["code"] == plan.villages[0].ref), None)
                results.append(TownResult(plan.name, existing["id"], first, True, 0.0))
                continue
            if not catalogue_ready:
                self._catalogue()
                catalogue_ready = True
            town = TownLoad(self, plan)
            counts = town.run()
            results.append(
                TownResult(plan.name, town.town_id, town.first_village_id, False, time.monotonic() - town_started, counts)
            )
            if self.options.after_town is not None and not self.options.after_town(index + 1):
                break
        starts = month_starts(self.today)
        result = LoadResult(
            county_id=self.county_id,
            towns=results,
            seconds=time.monotonic() - self.started,
            since=starts[0],
            months=[s.strftime("%Y-%m") for s in starts],
            phases=self.phases,
        )
        if self.phases:
            self.say("loading rates, all towns:")
            for line in phase_lines(self.phases):
                self.say(f"  {line}")
        return result

    def timed(self, step: str, seconds: float, count: int = 0, unit: str = "") -> None:
        """Add a step's time (and what it loaded) to the run's figures."""
        phase = self.phases.setdefault(step, {"seconds": 0.0, "count": 0})
        phase["seconds"] += seconds
        phase["count"] += count
        if unit:
            phase["unit"] = unit

    def holds_other_data(self) -> bool:
        """True when the platform already holds units but not the demo county (then `make run` leaves it alone)."""
        admin = (
            self.admin
            if hasattr(self, "admin")
            else self._track(login(self.options.gateway, self.options.admin_username, self.options.admin_password))
        )
        self.admin = admin
        if admin.get("/api/v1/grid/units", level="county", q=COUNTY_NAME)["total"]:
            return False
        return admin.get("/api/v1/grid/units", per_page=1)["total"] > 0

    def _county(self) -> dict[str, Any]:
        found = [
            u for u in self.admin.get("/api/v1/grid/units", level="county", q=COUNTY_NAME)["items"] if u["code"] == COUNTY_CODE
        ]
        if found:
            return found[0]
        self.say(f"creating the county {COUNTY_NAME}")
        return self.admin.post(
            "/api/v1/grid/units", {"code": COUNTY_CODE, "name": COUNTY_NAME, "level": "county"}, key=self.idem("county")
        )

    def _county_key(self, county_id: str) -> str:
        """The county system's API key: the one kept in the key file if it still works, else a new one."""
        path = self.options.key_file
        if path is not None and path.exists():
            secret = path.read_text().strip()
            probe = Api(self.options.gateway, api_key=secret)
            try:
                probe.get(f"/api/v1/grid/units/{county_id}")
                self.say(f"using the county system's API key from {path}")
                return secret
            except ApiError:
                self.say(f"the API key in {path} no longer works: issuing a new one")
            finally:
                probe.close()
        issued = self.admin.post(
            "/api/v1/auth/api-keys",
            {
                "name": KEY_NAME,
                "scope_unit_id": county_id,
                "rights": dict.fromkeys(DOMAINS, "write"),
                "rate_limit_per_minute": 100_000,
            },
        )
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)
            path.write_text(issued["key"] + "\n")
            os.chmod(path, 0o600)
        self.say(f"issued the county system's API key {issued['prefix']} (read-write on {', '.join(DOMAINS)})")
        return issued["key"]

    def _find_town(self, name: str) -> dict[str, Any] | None:
        found = [
            u
            for u in self.admin.get("/api/v1/grid/units", under=self.county_id, level="town", q=name)["items"]
            if u["name"] == name
        ]
        return found[0] if found else None

    def _complete(self, town_id: str, plan: TownPlan) -> bool:
        """A town is complete once its current month's points notice is open (the last step of a load)."""
        try:
            notices = self.admin.get("/api/v1/points/notices", under=town_id, period=plan.months[-1])
        except ApiError:
            return False
        return notices["total"] > 0

    def _catalogue(self) -> None:
        """The county-wide service catalogue (the county system keeps it)."""
        self.say("service catalogue")
        self.service_types = {
            t["code"]: self.key.post("/api/v1/dispatch/service-types", t, key=self.idem("service-type", t["code"]))["id"]
            for t in SERVICE_TYPES
        }
        red_cross = {
            "name": "夏县红十字会",
            "kind": "organisation",
            "area_unit_id": self.county_id,
            "description": "应急救护培训、救灾救助",
            "service_type_ids": [self.service_types["emergency_rescue_training"]],
            "contact_name": "应急救护培训中心",
            "contact_phone": "0359-8521234",
            # Every town has its Red Cross training each month: a prefecture-size county has 150 towns.
            "capacity_per_month": max(40, self.sizes.towns),
        }
        self.red_cross = eventually(
            "dispatch-svc to know the county",
            lambda: self.key.post("/api/v1/dispatch/providers", red_cross, key=self.idem("red-cross")),
        )["id"]


class TownLoad:
    """Everything of one town, step by step."""

    def __init__(self, loader: Loader, plan: TownPlan) -> None:
        self.loader, self.plan = loader, plan
        self.key = loader.key
        self.say = lambda message: loader.say(f"{plan.name}: {message}")
        self.counts: dict[str, int] = {}

    def rng(self, section: str) -> random.Random:
        """A random source of its own per section, so sections stay deterministic whatever the others do."""
        return random.Random(f"{self.loader.sizes.seed}:{self.plan.index}:{section}")

    def idem(self, *parts: object) -> str:
        """An Idempotency-Key for a create of this town."""
        return self.loader.idem(self.plan.code, *parts)

    def run(self) -> dict[str, int]:
        """Every step, in an order that respects what depends on what; what was loaded, counted."""
        steps = [
            (self.units, "units", "units"),
            (self.users, "users", ""),
            (self.registry, "registry", "households"),
            (self.village_rules, "village_rules", ""),
            (self.wait_for_replicas, "wait_for_replicas", ""),
            (self.read_back, "read_back", ""),
            (self.points_rules, "points_rules", ""),
            (self.ledger_history, "ledger_history", "history_entries"),
            (self.legal, "legal", ""),
            (self.dispatch, "dispatch", ""),
            (self.mediation, "mediation", ""),
            (self.manual_points, "manual_points", "manual_entries"),
            (self.wait_for_deeds, "wait_for_deeds", ""),
            (self.notices, "notices", ""),
        ]
        for step, name, counted in steps:
            started = time.monotonic()
            step()
            self.loader.timed(name, time.monotonic() - started, self.counts.get(counted, 0), counted)
        self.say("done")
        return self.counts

    # --- grid ---------------------------------------------------------------------------------

    def units(self) -> None:
        """The town's tree in one batch: villages, grids, small grids, micro grids."""
        plan = self.plan
        established = date(plan.since.year - 1, 1, 1).isoformat()
        items = []
        for unit in plan.units:
            item = {
                "code": unit.code,
                "name": unit.name,
                "level": unit.level,
                "established_on": established,
                "ref": unit.ref or "town",
            }
            if unit.parent_ref is None:
                item["parent_id"] = self.loader.county_id
            else:
                item["parent_ref"] = unit.parent_ref or "town"
            items.append(item)
        try:
            created = self.key.post("/api/v1/grid/units:batch", {"units": items}, key=self.idem("units"))
            self.unit_ids = {unit.ref: row["id"] for unit, row in zip(plan.units, created, strict=True)}
            self.full_codes = {unit.ref: row["full_code"] for unit, row in zip(plan.units, created, strict=True)}
        except ApiError as exc:
            if exc.code != "duplicate_code":
                raise
            # Created by an earlier run whose key is gone: read the tree back instead.
            town = self.loader._find_town(plan.name)
            rows = [town, *self.key.pages("/api/v1/grid/units", under=town["id"])]
            by_code = {r["full_code"]: r for r in rows}
            town_code = town["full_code"]
            self.full_codes = {u.ref: f"{town_code}.{u.ref}" if u.ref else town_code for u in plan.units}
            self.unit_ids = {ref: by_code[code]["id"] for ref, code in self.full_codes.items()}
        self.town_id = self.unit_ids[""]
        self.counts["units"] = len(plan.units)
        self.say(f"{len(plan.units)} units (town {self.town_id})")

    def users(self) -> None:
        """The town's demo users, created by the platform admin; then logged in."""
        plan = self.plan
        scope = {"town": self.town_id}
        if plan.villages:
            scope["village:0"] = self.unit_ids[plan.villages[0].ref]
            scope["grid:0"] = self.unit_ids[plan.villages[0].grids[0].ref]
        if len(plan.villages) > 1:
            scope["village:1"] = self.unit_ids[plan.villages[1].ref]
        self.users_by_role: dict[str, Api] = {}
        for account in accounts.town_accounts(plan.code, reported=plan.reported):
            if account.scope not in scope:
                continue
            body = {
                "username": account.username,
                "display_name": account.display_name,
                "role": account.role,
                "scope_unit_id": scope[account.scope],
                "password": accounts.DEMO_PASSWORD,
            }
            try:
                self.loader.admin.post("/api/v1/auth/users", body)
            except ApiError as exc:
                if exc.code != "duplicate_username":
                    raise
            api = self.loader._track(login(self.loader.options.gateway, account.username, accounts.DEMO_PASSWORD))
            self.users_by_role.setdefault(account.role, api)
            if account.scope == "village:0":
                self.secretary = api
            if account.scope == "grid:0":
                self.grid_worker = api
        self.counts["users"] = len(self.users_by_role)

    def registry(self) -> None:
        """Households, people, party members, teams and liaisons through the roster import, grid by grid."""
        started = time.monotonic()
        plan = self.plan
        code = self.full_codes
        town_chunk = {
            "people": [_person_row(p.person, code) for p in plan.cadre_members],
            "members": [_member_row(m, code) for m in plan.cadre_members],
        }
        self._import("cadres", town_chunk)
        chunks = []
        for village in plan.villages:
            for grid in village.grids:
                chunks.append(
                    (
                        grid.ref,
                        {
                            "households": [_household_row(h, code) for h in grid.households],
                            "people": [_person_row(p, code) for h in grid.households for p in h.people],
                            "members": [_member_row(m, code) for m in grid.members],
                            "roles": [_role_row(r.person, code[r.unit_ref], r.role, r.title, plan.since) for r in grid.roles],
                            "liaisons": [
                                _liaison_row(link.kind, link.person, link.household_code, None, plan.since)
                                for link in grid.liaisons
                            ],
                        },
                    )
                )
        self.loader.each(lambda chunk: self._import(*chunk), chunks, limit=IMPORTS_IN_FLIGHT)
        cadre_chunks = [
            (
                f"{v.ref}-cadre",
                {
                    "roles": [_role_row(r.person, code[r.unit_ref], r.role, r.title, plan.since) for r in v.cadre_roles],
                    "liaisons": [
                        _liaison_row(
                            link.kind,
                            link.person,
                            link.household_code,
                            code[link.unit_ref] if link.unit_ref else None,
                            plan.since,
                        )
                        for link in v.cadre_liaisons
                    ],
                },
            )
            for v in plan.villages
        ]
        self.loader.each(lambda chunk: self._import(*chunk), cadre_chunks, limit=IMPORTS_IN_FLIGHT)
        self.counts["households"] = len(plan.households)
        self.counts["people"] = sum(len(h.people) for h in plan.households) + len(plan.cadre_members)
        self.counts["party_members"] = len(plan.members)
        counts = self.counts
        seconds = time.monotonic() - started
        self.say(
            f"{counts['households']} households, {counts['people']} people, {counts['party_members']} members imported"
            f" in {seconds:.1f}s ({counts['households'] / seconds:,.0f} households/s)"
        )

    def village_rules(self) -> None:
        """Every village's rules (村规民约), written and published; the first village's by its own secretary."""
        first = getattr(self, "secretary", self.key)

        def publish(item: tuple[int, Any]) -> None:
            v, village = item
            api = first if v == 0 else self.key
            path = f"/api/v1/grid/villages/{self.unit_ids[village.ref]}/rules"
            revision = api.post(
                f"{path}/revisions",
                {
                    "title": f"{village.name}村规民约",
                    "text": VILLAGE_RULES.format(village=village.name),
                    "effective_on": date(self.plan.since.year, 1, 1).isoformat(),
                    "note": "经村民代表会议表决通过",
                },
                key=self.idem("village-rules", v),
            )
            api.post(f"{path}/revisions/{revision['version']}/publish")

        self.loader.each(publish, enumerate(self.plan.villages))
        self.first_village_id = self.unit_ids[self.plan.villages[0].ref]
        self.counts["village_rules"] = len(self.plan.villages)

    def _import(self, label: str, sheets: dict[str, list[dict[str, str]]]) -> None:
        files = [("files", (f"{sheet}.csv", _csv(rows), "text/csv")) for sheet, rows in sheets.items() if rows]
        report = self.key.request("POST", "/api/v1/grid/imports", files=files)
        if not report.get("applied"):
            raise RuntimeError(f"import {label} was not applied: {report}")

    def wait_for_replicas(self) -> None:
        """Points, dispatch and legal keep a copy of the tree: wait until each holds the whole town."""
        expected = len(self.plan.units) - 1
        for domain in ("points", "dispatch", "legal"):
            eventually(
                f"{domain}-svc to know the {expected} units under {self.plan.name}",
                lambda d=domain: self.key.get(f"/api/v1/{d}/units", under=self.town_id, per_page=1)["total"] == expected,
                timeout=self.loader.event_deadline,
            )
        self.say("the tree reached points, dispatch and legal")

    def read_back(self) -> None:
        """Ids the registry gave: households by code, people by (household, name), party members by person."""
        plan = self.plan
        every = self.loader.all_items
        self.household_ids = {h["code"]: h["id"] for h in every(self.key, "/api/v1/grid/households", under=self.town_id)}
        people = {}
        for person in every(self.key, "/api/v1/grid/people", under=self.town_id):
            people[(person["household_id"] or person["unit_id"], person["name"])] = person["id"]
        self.person_ids: dict[int, str] = {}
        for household in plan.households:
            for person in household.people:
                self.person_ids[id(person)] = people[(self.household_ids[household.code], person.name)]
        for member in plan.cadre_members:
            self.person_ids[id(member.person)] = people[(self.town_id, member.person.name)]
        by_person = {m["person_id"]: m["id"] for m in every(self.key, "/api/v1/grid/party/members", under=self.town_id)}
        self.member_ids = {id(m): by_person[self.person_ids[id(m.person)]] for m in plan.members}
        missing = len(plan.members) - len(self.member_ids)
        if missing:
            raise RuntimeError(f"{missing} party members did not reach the registry")

    def pid(self, person: PersonPlan) -> str:
        """The registry id of a planned person."""
        return self.person_ids[id(person)]

    # --- points -------------------------------------------------------------------------------

    def points_rules(self) -> None:
        """The town's scoring-rule catalogue, set by the town admin."""
        admin = self.users_by_role.get("town_admin", self.key)
        active_from = date(self.plan.since.year, 1, 1).isoformat()
        self.rule_ids = {}
        for rule in RULES:
            body = {**rule, "town_unit_id": self.town_id, "active_from": active_from}
            created = eventually(
                "points-svc to know the town",
                lambda b=body: admin.post("/api/v1/points/rules", b, key=self.idem("rule", b["code"])),
            )
            self.rule_ids[rule["code"]] = created["id"]
        self.counts["rules"] = len(RULES)
        expected = len(self.plan.members)
        eventually(
            f"points-svc to know the {expected} party members",
            lambda: self.key.get("/api/v1/points/members", under=self.town_id, per_page=1)["total"] == expected,
            timeout=self.loader.event_deadline,
        )
        self.say(f"{len(RULES)} scoring rules; {expected} members on the points roster")

    def ledger_history(self) -> None:
        """Daily deeds of the months before the demo's, through points-svc's batch endpoint (county and prefecture sizes)."""
        sizes = self.loader.sizes
        share, extra = divmod(sizes.ledger_entries, sizes.towns)
        deeds = ledger_history(self.plan, share + (1 if self.plan.index < extra else 0))
        if not deeds:
            return
        started = time.monotonic()
        body = {**DAILY_RULE, "town_unit_id": self.town_id, "active_from": min(d.day for d in deeds).isoformat()}
        rule_id = self.key.post("/api/v1/points/rules", body, key=self.idem("rule", DAILY_RULE["code"]))["id"]
        rng = self.rng("ledger-history")
        by_branch: dict[str, list[dict[str, str]]] = {}
        for deed in deeds:
            entry = {
                "member_id": self.loader_member(deed.member),
                "rule_id": rule_id,
                "occurred_on": deed.day.isoformat(),
                "description": rng.choice(DAILY_DEEDS),
            }
            # A party branch is its village (the grids' groups belong to it); the town's cadres score in the town.
            by_branch.setdefault(deed.member.org_unit_ref.split(".")[0], []).append(entry)
        # Batches of every branch in turn, so the ones in flight lock different chains.
        queues = [
            [(branch, n, entries[i : i + LEDGER_BATCH]) for n, i in enumerate(range(0, len(entries), LEDGER_BATCH))]
            for branch, entries in sorted(by_branch.items())
        ]
        batches = [b for round_ in zip_longest(*queues) for b in round_ if b is not None]

        def send(batch: tuple[str, int, list[dict[str, str]]]) -> int:
            branch, n, entries = batch
            answer = self.key.post("/api/v1/points/entries:batch", {"entries": entries}, key=self.idem("ledger", branch, n))
            return answer["recorded"]

        recorded = sum(self.loader.each(send, batches, limit=LEDGER_IN_FLIGHT))
        seconds = time.monotonic() - started
        self.counts["rules"] = self.counts.get("rules", 0) + 1
        self.counts["history_entries"] = recorded
        months = len({d.day.strftime("%Y-%m") for d in deeds})
        self.say(
            f"{recorded:,} ledger entries of {months} earlier months in {len(batches)} batches"
            f" in {seconds:.1f}s ({recorded / seconds:,.0f} entries/s)"
        )

    def manual_points(self) -> None:
        """Deeds recorded by hand, month by month, for about a third of the members."""
        rng = self.rng("manual-points")
        entries = []
        for first in month_starts(self.plan.today):
            last = min(month_last_day(first), self.plan.today)
            for member in self.plan.members:
                if rng.random() < 0.35:
                    code = rng.choices(list(MANUAL_DEEDS), weights=(4, 5, 2, 1))[0]
                    day = first + timedelta(days=rng.randrange((last - first).days + 1))
                    entries.append((member, code, day, rng.choice(MANUAL_DEEDS[code])))

        def record(item: tuple[MemberPlan, str, date, str]) -> None:
            member, code, day, text = item
            body = {
                "member_id": self.loader_member(member),
                "rule_id": self.rule_ids[code],
                "occurred_on": day.isoformat(),
                "description": text,
            }
            try:
                self.key.post("/api/v1/points/entries", body, key=self.idem("entry", self.loader_member(member), code, day))
            except ApiError as exc:
                if exc.code != "monthly_cap_exceeded":
                    raise

        self.loader.each(record, entries)
        self.counts["manual_entries"] = len(entries)
        self.say(f"{len(entries)} points entries recorded by hand")

    def loader_member(self, member: MemberPlan) -> str:
        """The registry's member id of a planned member."""
        return self.member_ids[id(member)]

    def wait_for_deeds(self) -> None:
        """Deeds from orders, lectures and mediations arrive through Kafka: wait until each is decided."""
        expected = self.expected_deeds
        self.say(f"waiting for {expected} deeds to reach the points ledger")
        eventually(
            f"points-svc to decide {expected} deeds",
            lambda: (
                self.key.get("/api/v1/points/deeds", under=self.town_id, per_page=1)["total"] >= expected
                and self.key.get("/api/v1/points/deeds", under=self.town_id, status="waiting_member", per_page=1)["total"] == 0
            ),
            timeout=self.loader.event_deadline,
        )
        credited = self.key.get("/api/v1/points/deeds", under=self.town_id, status="credited", per_page=1)["total"]
        self.counts["deeds_credited"] = credited
        self.say(f"{credited} deeds credited")

    def notices(self) -> None:
        """The first village's branch: last month's notice opened and closed, this month's opened."""
        branch = self.unit_ids[self.plan.villages[0].ref]
        secretary = getattr(self, "secretary", self.key)
        last_month, this_month = self.plan.months[-2], self.plan.months[-1]
        notice = self._open_notice(secretary, branch, last_month, working_days=0)
        _advance(secretary, f"/api/v1/points/notices/{notice['id']}/close", None)
        self._open_notice(secretary, branch, this_month, working_days=None)
        self.counts["notices"] = 2
        self.say(f"points notice of {last_month} closed, {this_month} open for {self.plan.villages[0].name}")

    def _open_notice(self, api: Api, branch: str, period: str, *, working_days: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"branch_unit_id": branch, "period": period}
        if working_days is not None:
            body["objection_working_days"] = working_days
        try:
            return api.post("/api/v1/points/notices", body, key=self.idem("notice", period))
        except ApiError as exc:
            if exc.code != "notice_exists":
                raise
            return next(iter(api.get("/api/v1/points/notices", under=branch, period=period)["items"]))

    # --- dispatch -----------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Orders and their dispatch, the two trainings by providers, micro lectures and countryside activities."""
        self.expected_deeds = 0
        self.lectures()
        self.orders()
        self.trainings()
        self.activities()

    def _wait_for_people(self, people: Iterable[str], *, members: bool = False) -> None:
        """Wait until dispatch-svc knows each person (and, with `members`, knows them as a party member: an
        order served by someone it does not know as a member yet earns no deed)."""

        def known(person_id: str) -> dict[str, Any] | None:
            person = self.key.get(f"/api/v1/dispatch/roster/people/{person_id}")
            return person if person["party_member"] or not members else None

        for person_id in sorted(set(people)):
            eventually(
                "dispatch-svc to know a party member" if members else "dispatch-svc to know a person",
                lambda p=person_id: known(p),
                timeout=self.loader.event_deadline,
            )

    def _wait_for_households(self, households: Iterable[str]) -> None:
        for household_id in sorted(set(households)):
            eventually(
                "dispatch-svc to know a household",
                lambda h=household_id: self.key.get(f"/api/v1/dispatch/roster/households/{h}"),
                timeout=self.loader.event_deadline,
            )

    def lectures(self) -> None:
        """32 micro lectures over the last months, given by party members, 1,000+ attendees in all."""
        rng = self.rng("lectures")
        villages = self.plan.villages
        starts = month_starts(self.plan.today)
        sessions = []
        for n in range(32):
            village = villages[n % len(villages)]
            lecturers = [m for m in village.members] or self.plan.cadre_members
            chosen = rng.sample(lecturers, min(len(lecturers), rng.choice((1, 1, 2))))
            first = starts[n % len(starts)]
            held_at = instant_in(rng, first, min(month_last_day(first), self.plan.today), self.plan.today)
            sessions.append(
                {
                    "unit_id": self.unit_ids[village.ref],
                    "theme": rng.choice(LECTURE_THEMES),
                    "place": rng.choice(LECTURE_PLACES),
                    "held_at": held_at.isoformat(),
                    "duration_minutes": rng.choice((45, 60, 90)),
                    "lecturer_person_ids": [self.pid(m.person) for m in chosen],
                    "attendees": rng.randrange(32, 46),
                    "description": f"{village.name}新时代文明实践站微讲堂",
                }
            )
        self._wait_for_people(p for s in sessions for p in s["lecturer_person_ids"])
        self.loader.each(
            lambda item: self.key.post("/api/v1/dispatch/lectures", item[1], key=self.idem("lecture", item[0])),
            enumerate(sessions),
        )
        self.expected_deeds += sum(len(s["lecturer_person_ids"]) for s in sessions)
        self.counts["lectures"] = len(sessions)
        self.counts["lecture_attendees"] = sum(s["attendees"] for s in sessions)
        self.say(f"{len(sessions)} micro lectures, {self.counts['lecture_attendees']} attendees")

    def orders(self) -> None:
        """Residents' orders in every village, dispatched to party members who live nearby, served and rated."""
        rng = self.rng("orders")
        service_types = self.loader.service_types
        work = []
        for v, village in enumerate(self.plan.villages):
            for n in range(self.loader.sizes.orders_per_village):
                grid = village.grids[0] if v == 0 and n < 2 else rng.choice(village.grids)
                if not grid.households or not grid.members:
                    continue
                household = rng.choice(grid.households)
                member = rng.choice(grid.members)
                kind = rng.choice(ORDER_TYPES)
                head = household.people[0]
                via_grid_worker = v == 0 and n < 2 and hasattr(self, "grid_worker")
                body = {
                    "service_type_id": service_types[kind],
                    "household_id": self.household_ids[household.code],
                    "requester_kind": "household",
                    "requester_name": head.name,
                    "requester_person_id": self.pid(head),
                    "contact_phone": head.phone or "",
                    "channel": "grid_worker" if via_grid_worker else rng.choice(("app", "phone", "in_person")),
                    "description": rng.choice(ORDER_TEXTS[kind]),
                    "address": household.address,
                }
                # Most orders are served and rated; every fourth village keeps its last one in progress.
                finish = not (v % 4 == 3 and n == self.loader.sizes.orders_per_village - 1)
                work.append(
                    (f"{village.ref}-{n}", body, self.pid(member.person), finish, rng.choice((5, 5, 5, 4, 4, 3)), via_grid_worker)
                )
        self._wait_for_households(w[1]["household_id"] for w in work)
        self._wait_for_people((w[2] for w in work), members=True)

        def serve(item: tuple[str, dict[str, Any], str, bool, int, bool]) -> bool:
            label, body, assignee, finish, satisfaction, via_grid_worker = item
            api = self.grid_worker if via_grid_worker else self.key
            order = api.post("/api/v1/dispatch/orders", body, key=self.idem("order", label))
            path = f"/api/v1/dispatch/orders/{order['id']}"
            steps = [("accept", None), ("dispatch", {"assignee_person_id": assignee}), ("start", None)]
            if finish:
                steps += [
                    ("complete", {"note": "已上门办结"}),
                    ("evaluate", {"satisfaction": satisfaction, "comment": "服务及时"}),
                ]
            for action, step_body in steps:
                _advance(api, f"{path}/{action}", step_body)
            return finish

        finished = self.loader.each(serve, work)
        self.expected_deeds += sum(finished)
        self.counts["orders"] = len(work)
        self.say(f"{len(work)} residents' orders ({sum(finished)} served and rated)")

    def trainings(self) -> None:
        """Red Cross emergency-rescue training for the first village, drum training for the second: ordered, planned, executed."""
        if len(self.plan.villages) < 2:
            return
        types = self.loader.service_types
        drum = {
            "name": f"{self.plan.name}锣鼓协会志愿服务队",
            "kind": "team",
            "area_unit_id": self.town_id,
            "description": "锣鼓协会志愿者，教授威风锣鼓",
            "service_type_ids": [types["drum_training"]],
            "contact_name": "锣鼓协会",
            "contact_phone": "0359-8525678",
            "capacity_per_month": 8,
        }
        drum_id = self.key.post("/api/v1/dispatch/providers", drum, key=self.idem("drum-provider"))["id"]
        rng = self.rng("trainings")
        month = self.plan.months[-1]
        for village, code, provider, title, kind, place in (
            (self.plan.villages[0], "emergency_rescue_training", self.loader.red_cross, "应急救护培训", "health", "村文化广场"),
            (self.plan.villages[1], "drum_training", drum_id, "锣鼓培训", "culture", "村文化活动中心"),
        ):
            households = rng.sample(village.households, min(6, len(village.households)))
            # dispatch-svc refuses an order from a household its replica does not hold yet.
            self._wait_for_households(self.household_ids[household.code] for household in households)
            self._wait_for_people(self.pid(household.people[0]) for household in households)
            order_ids: list[str] = []
            submitted: list[str] = []
            for n, household in enumerate(households):
                head = household.people[0]
                body = {
                    "service_type_id": types[code],
                    "household_id": self.household_ids[household.code],
                    "requester_kind": "household",
                    "requester_name": head.name,
                    "requester_person_id": self.pid(head),
                    "channel": "app",
                    "description": f"希望村里组织{title}",
                    "address": household.address,
                }
                order = self.key.post("/api/v1/dispatch/orders", body, key=self.idem("training-order", code, n))
                _advance(self.key, f"/api/v1/dispatch/orders/{order['id']}/accept", None)
                order_ids.append(order["id"])
                submitted.append(order["submitted_at"])
            plan = self.key.post(
                "/api/v1/dispatch/plans",
                {"unit_id": self.unit_ids[village.ref], "month": month, "title": f"{village.name}{month}派单计划"},
                key=self.idem("plan", code),
            )
            # The session is held once the last household has ordered it (a stable instant: a repeated run replays the orders).
            session_at = max(submitted)
            plan = self.key.get(f"/api/v1/dispatch/plans/{plan['id']}")  # a repeated run may find it further on
            if plan["status"] == "draft":
                if not plan["items"]:
                    self.key.post(
                        f"/api/v1/dispatch/plans/{plan['id']}/items",
                        {
                            "kind": "session",
                            "service_type_id": types[code],
                            "provider_id": provider,
                            "order_ids": order_ids,
                            "session_title": f"{title}（{village.name}）",
                            "session_at": session_at,
                            "session_place": place,
                        },
                    )
                self.key.post(f"/api/v1/dispatch/plans/{plan['id']}/execute")
            for order_id in order_ids:
                for action, body in (
                    ("start", None),
                    ("complete", {"note": f"{title}已举办"}),
                    ("evaluate", {"satisfaction": 5, "comment": "很实用"}),
                ):
                    _advance(self.key, f"/api/v1/dispatch/orders/{order_id}/{action}", body)
            self.key.post(
                "/api/v1/dispatch/activities",
                {
                    "kind": kind,
                    "unit_id": self.unit_ids[village.ref],
                    "title": f"{title}进{village.name}",
                    "place": place,
                    "held_at": session_at,
                    "attendees": rng.randrange(45, 70),
                    "provider_id": provider,
                    "description": f"应{len(order_ids)}户群众点单，{title}送到村里",
                },
                key=self.idem("training-activity", code),
            )
            self.counts[f"{code}_orders"] = len(order_ids)
        self.say(f"trainings: Red Cross in {self.plan.villages[0].name}, drums in {self.plan.villages[1].name}")

    def activities(self) -> None:
        """Countryside activities (culture, science, health) over the last months."""
        rng = self.rng("activities")
        starts = month_starts(self.plan.today)
        titles = {
            "culture": ("文艺演出进村", "蒲剧下乡"),
            "science": ("农技培训", "科普大篷车"),
            "health": ("义诊进村", "健康知识讲座"),
        }
        items = []
        for n in range(9):
            kind = ("culture", "science", "health")[n % 3]
            village = rng.choice(self.plan.villages)
            first = starts[n % len(starts)]
            items.append(
                {
                    "kind": kind,
                    "unit_id": self.unit_ids[village.ref],
                    "title": rng.choice(titles[kind]),
                    "place": "新时代文明实践站",
                    "held_at": instant_in(rng, first, min(month_last_day(first), self.plan.today), self.plan.today).isoformat(),
                    "attendees": rng.randrange(40, 150),
                }
            )
        self.loader.each(
            lambda item: self.key.post("/api/v1/dispatch/activities", item[1], key=self.idem("activity", item[0])),
            enumerate(items),
        )
        self.counts["activities"] = len(items) + 2

    # --- legal --------------------------------------------------------------------------------

    def legal(self) -> None:
        """Advisers, consultations, legal affairs, enforcement, publicity and patrols."""
        self.advisers()
        self.consultations()
        self.affairs()
        self.enforcement()
        self.publicity()
        self.patrols()

    def advisers(self) -> None:
        rng = self.rng("advisers")
        since = self.plan.since
        firms = ("夏县公共法律服务中心", "山西明德律师事务所")
        self.adviser_ids, self.adviser_names = [], []
        for n, firm in enumerate(firms):
            body = {
                "name": names.person_name(rng),
                "firm": firm,
                "licence_number": f"11408{rng.randrange(10**11):011d}",
                "unit_id": self.town_id,
            }
            adviser = eventually(
                "legal-svc to know the town",
                lambda b=body, n=n: self.key.post("/api/v1/legal/advisers", b, key=self.idem("adviser", n)),
            )
            self.adviser_ids.append(adviser["id"])
            self.adviser_names.append(adviser["name"])
        for v, village in enumerate(self.plan.villages):
            adviser = self.adviser_ids[v % len(self.adviser_ids)]
            body = {
                "unit_id": self.unit_ids[village.ref],
                "starts_on": (since - timedelta(days=180)).isoformat(),
                "duty_weekdays": [1 + v % 5],
            }
            try:
                self.key.post(f"/api/v1/legal/advisers/{adviser}/assignments", body, key=self.idem("adviser-assignment", v))
            except ApiError as exc:
                if exc.code != "overlapping_assignment":
                    raise
        self.say(f"{len(self.adviser_ids)} legal advisers on duty in {len(self.plan.villages)} villages")

    def consultations(self) -> None:
        """72 consultations by the advisers over the last months."""
        rng = self.rng("consultations")
        items = []
        for n in range(72):
            category = rng.choice(list(CONSULTATION_TOPICS))
            question, answer = CONSULTATION_TOPICS[category]
            village = rng.choice(self.plan.villages)
            asked = instant_in(rng, self.plan.since, self.plan.today, self.plan.today).date()
            items.append(
                {
                    "adviser_id": self.adviser_ids[n % len(self.adviser_ids)],
                    "unit_id": self.unit_ids[village.ref],
                    "asked_on": asked.isoformat(),
                    "asker_name": names.person_name(rng),
                    "asker_phone": names.phone(rng),
                    "category": category,
                    "question": question,
                    "answer": answer,
                    "follow_up_needed": rng.random() < 0.1,
                }
            )
        self.loader.each(
            lambda item: self.key.post("/api/v1/legal/consultations", item[1], key=self.idem("consultation", item[0])),
            enumerate(items),
        )
        self.counts["consultations"] = len(items)
        self.say(f"{len(items)} legal consultations")

    def affairs(self) -> None:
        """Six legal affairs, all closed; two recovered money for a village collective."""
        rng = self.rng("affairs")
        kinds = [
            ("contract_review", "村集体土地流转合同审查", 0),
            ("litigation_support", "协助村集体追讨拖欠承包费", 1_200_000),
            ("document_drafting", "起草村规民约修订稿", 0),
            ("legal_opinion", "村级工程招标程序法律意见", 0),
            ("negotiation", "代表村委会与施工方协商工程欠款", 800_000),
            ("contract_review", "光伏项目屋顶租赁合同审查", 0),
        ]
        self.affairs_recovered_fen = 0
        for n, (kind, title, recovered) in enumerate(kinds):
            village = self.plan.villages[n % len(self.plan.villages)]
            opened = instant_in(rng, self.plan.since, self.plan.today - timedelta(days=3), self.plan.today).date()
            affair = self.key.post(
                "/api/v1/legal/legal-affairs",
                {
                    "adviser_id": self.adviser_ids[n % len(self.adviser_ids)],
                    "unit_id": self.unit_ids[village.ref],
                    "kind": kind,
                    "title": title,
                    "opened_on": opened.isoformat(),
                },
                key=self.idem("affair", n),
            )
            closed = min(opened + timedelta(days=rng.randrange(3, 30)), self.plan.today)
            _advance(
                self.key,
                f"/api/v1/legal/legal-affairs/{affair['id']}/close",
                {"outcome": "已办结", "closed_on": closed.isoformat(), "recovered_fen": recovered},
            )
            self.affairs_recovered_fen += recovered
        self.counts["legal_affairs"] = len(kinds)

    def enforcement(self) -> None:
        """Four certified officers and 12 enforcement campaigns with inspections."""
        rng = self.rng("enforcement")
        officers = []
        for n in range(4):
            body = {
                "name": names.person_name(rng),
                "unit_id": self.town_id,
                "agency": f"{self.plan.name}综合行政执法队",
                "certificate_number": f"晋执{self.plan.index:02d}{n:02d}{rng.randrange(10**6):06d}",
                "certificate_valid_until": (self.plan.today + timedelta(days=rng.choice((45, 400, 700, 900)))).isoformat(),
            }
            officers.append(self.key.post("/api/v1/legal/officers", body, key=self.idem("officer", n))["id"])
        starts = month_starts(self.plan.today)
        for n, (topic, theme) in enumerate(CAMPAIGNS):
            first = starts[n % len(starts)]
            begins = instant_in(rng, first, min(month_last_day(first), self.plan.today), self.plan.today).date()
            covered = rng.sample(self.plan.villages, min(4, len(self.plan.villages)))
            campaign = self.key.post(
                "/api/v1/legal/campaigns",
                {
                    "theme": theme,
                    "topic": topic,
                    "unit_id": self.town_id,
                    "unit_ids": [self.unit_ids[v.ref] for v in covered],
                    "starts_on": begins.isoformat(),
                    "ends_on": (begins + timedelta(days=30)).isoformat(),
                    "description": f"{self.plan.name}{theme}",
                },
                key=self.idem("campaign", n),
            )
            for k, village in enumerate(covered[:2]):
                inspected = min(begins + timedelta(days=rng.randrange(1, 10)), self.plan.today)
                pending = rng.random() < 0.3
                self.key.post(
                    "/api/v1/legal/inspections",
                    {
                        "campaign_id": campaign["id"],
                        "unit_id": self.unit_ids[village.ref],
                        "inspected_on": inspected.isoformat(),
                        "target": f"{village.name}{rng.choice(('沿街商铺', '养殖场', '建筑工地', '农资店'))}",
                        "findings": "存在安全隐患，已当场指出",
                        "officer_ids": rng.sample(officers, 2),
                        "rectification": "pending" if pending else "not_required",
                        "rectification_due": (inspected + timedelta(days=15)).isoformat() if pending else None,
                    },
                    key=self.idem("inspection", n, k),
                )
        self.counts["campaigns"] = len(CAMPAIGNS)
        self.say(f"{len(CAMPAIGNS)} enforcement campaigns")

    def publicity(self) -> None:
        """The three publicity teams with members and events."""
        rng = self.rng("publicity")
        teams = []
        for n, (kind, suffix) in enumerate(PUBLICITY_TEAMS):
            team = self.key.post(
                "/api/v1/legal/publicity-teams",
                {
                    "name": f"{self.plan.name}{suffix}",
                    "kind": kind,
                    "unit_id": self.town_id,
                    "formed_on": date(self.plan.since.year - 1, 3, 1).isoformat(),
                },
                key=self.idem("publicity-team", n),
            )
            teams.append(team["id"])
            if team["members"] == 0:
                for k in range(rng.randrange(4, 8)):
                    self.key.post(
                        f"/api/v1/legal/publicity-teams/{team['id']}/members",
                        {
                            "name": names.person_name(rng),
                            "title": rng.choice(("司法所干部", "退休教师", "律师", "村民", "村干部")),
                            "joined_on": date(self.plan.since.year - 1, 3, 1).isoformat(),
                        },
                        key=self.idem("publicity-member", n, k),
                    )
        themes = ("反电信诈骗", "民法典进农村", "宪法宣传周", "防范非法集资", "未成年人保护法宣讲", "农村土地承包法解读")
        for n in range(9):
            village = rng.choice(self.plan.villages)
            held = instant_in(rng, self.plan.since, self.plan.today, self.plan.today).date()
            self.key.post(
                "/api/v1/legal/publicity-events",
                {
                    "team_id": teams[n % 3],
                    "unit_id": self.unit_ids[village.ref],
                    "held_on": held.isoformat(),
                    "theme": rng.choice(themes),
                    "audience": rng.randrange(40, 200),
                    "materials": rng.randrange(50, 300),
                },
                key=self.idem("publicity-event", n),
            )
        self.counts["publicity_teams"] = len(teams)

    def patrols(self) -> None:
        """An auxiliary officer per village, patrol teams per cluster of villages, patrols that recovered 300,000+ yuan."""
        rng = self.rng("patrols")
        villages = self.plan.villages
        for v, village in enumerate(villages):
            try:
                self.key.post(
                    "/api/v1/legal/auxiliary-officers",
                    {
                        "name": names.person_name(rng),
                        "phone": names.phone(rng),
                        "unit_id": self.unit_ids[village.ref],
                        "starts_on": date(self.plan.since.year - 1, 1, 1).isoformat(),
                    },
                    key=self.idem("auxiliary-officer", v),
                )
            except ApiError as exc:
                if exc.code != "overlapping_posting":
                    raise
        clusters = [villages[i : i + 5] for i in range(0, len(villages), 5)]
        teams = []
        for n, cluster in enumerate(clusters):
            team = self.key.post(
                "/api/v1/legal/patrol-teams",
                {
                    "name": f"{self.plan.name}第{n + 1}巡逻队",
                    "unit_id": self.town_id,
                    "village_ids": [self.unit_ids[v.ref] for v in cluster],
                    "formed_on": date(self.plan.since.year - 1, 1, 1).isoformat(),
                },
                key=self.idem("patrol-team", n),
            )
            teams.append((team["id"], cluster))
        patrols = []
        target_fen = 30_500_000
        recovered = 0
        for n in range(36):
            team_id, cluster = teams[n % len(teams)]
            village = rng.choice(cluster)
            started = instant_in(rng, self.plan.since, self.plan.today, self.plan.today).replace(hour=19, minute=30)
            incidents = []
            if n % 3 == 0:
                amount = rng.randrange(1_500_000, 3_500_000)
                recovered += amount
                kind = rng.choice(("fraud", "theft"))
                incidents.append(
                    {
                        "kind": kind,
                        "description": "劝阻一起冒充客服退款诈骗并追回转账" if kind == "fraud" else "协助追回被盗农机具",
                        "recovered_fen": amount,
                        "losses_prevented_fen": rng.randrange(0, 500_000),
                    }
                )
            elif n % 3 == 1:
                incidents.append(
                    {"kind": "fire_hazard", "description": "发现柴草堆放靠近电线，督促清理", "losses_prevented_fen": 0}
                )
            patrols.append(
                {
                    "team_id": team_id,
                    "unit_id": self.unit_ids[village.ref],
                    "started_at": started.isoformat(),
                    "ended_at": (started + timedelta(hours=2)).isoformat(),
                    "route": f"{village.name}主街—村委会—学校—田间路",
                    "publicity": "反诈宣传、防火提醒",
                    "people_reached": rng.randrange(10, 60),
                    "incidents": incidents,
                }
            )
        if recovered < target_fen:
            # The report's figure is 300,000+ yuan: the last recovery makes up what chance left short.
            last = next(p for p in reversed(patrols) if any(i.get("recovered_fen") for i in p["incidents"]))
            last["incidents"][0]["recovered_fen"] += target_fen - recovered
            recovered = target_fen
        self.loader.each(
            lambda item: self.key.post("/api/v1/legal/patrols", item[1], key=self.idem("patrol", item[0])), enumerate(patrols)
        )
        self.counts["patrols"] = len(patrols)
        self.counts["patrol_recovered_fen"] = recovered
        self.say(f"{len(patrols)} patrols, {recovered / 100:,.0f} yuan recovered")

    # --- mediation (a mediator's own account) -------------------------------------------------

    def mediation(self) -> None:
        """28 mediation cases: 25 with a legal adviser among the mediators (22 agreed, 3 failed), 3 by village cadres."""
        mediator = self.users_by_role["mediator"]
        rng = self.rng("mediation")
        short = self.plan.name.removesuffix("镇").removesuffix("乡")
        cases = []
        for n in range(28):
            village = self.plan.villages[n % len(self.plan.villages)]
            category = rng.choice(list(CASE_FACTS))
            with_adviser = n < 25
            failed = with_adviser and n % 9 == 8
            volunteer = rng.choice(village.members) if (village.members and n % 3 == 0) else None
            amount = 0 if failed else rng.randrange(150_000, 380_000)
            cases.append((n, village, category, with_adviser, failed, volunteer, amount))
        adviser_total = sum(c[6] for c in cases if c[3])
        needed = 6_100_000 - self.affairs_recovered_fen - adviser_total
        if needed > 0:
            n, village, category, with_adviser, failed, volunteer, amount = cases[0]
            cases[0] = (n, village, category, with_adviser, failed, volunteer, amount + needed)

        def handle(item: tuple) -> int:
            n, village, category, with_adviser, failed, volunteer, amount = item
            facts, points = CASE_FACTS[category]
            people = rng_people(self.loader.sizes.seed, self.plan.index, n)
            mediators = [
                {
                    "name": names.person_name(random.Random(f"m{n}")),
                    "affiliation": "full_time_mediator",
                    "role": "lead",
                    "organisation": f"{short}人民调解委员会",
                }
            ]
            if with_adviser:
                adviser = n % len(self.adviser_ids)
                mediators.append(
                    {
                        "name": self.adviser_names[adviser],
                        "affiliation": "legal_adviser",
                        "adviser_id": self.adviser_ids[adviser],
                        "organisation": "法律顾问",
                    }
                )
            else:
                mediators.append(
                    {
                        "name": village.cadre.name if village.cadre else "村干部",
                        "affiliation": "village_cadre",
                        "organisation": f"{village.name}村委会",
                    }
                )
            if volunteer is not None:
                mediators.append(
                    {
                        "name": volunteer.person.name,
                        "affiliation": "party_member_volunteer",
                        "person_id": self.pid(volunteer.person),
                        "organisation": f"{village.name}党支部",
                    }
                )
            case = mediator.post(
                "/api/v1/legal/cases",
                {
                    "unit_id": self.unit_ids[village.ref],
                    "category": category,
                    "facts": facts,
                    "points_in_dispute": points,
                    "amount_in_dispute_fen": amount + 100_000,
                    "reported_on": (self.plan.today - timedelta(days=n % 20)).isoformat(),
                    "parties": people,
                    "mediators": mediators,
                },
                key=self.idem("case", n),
            )
            path = f"/api/v1/legal/cases/{case['id']}"
            today = self.plan.today.isoformat()
            _advance(mediator, f"{path}/accept", {"accepted_on": today})
            if volunteer is not None:
                # A party-member mediator earns points only once legal-svc's roster knows the membership.
                person_id = self.pid(volunteer.person)
                eventually(
                    "legal-svc to know a party-member mediator",
                    lambda: any(
                        m.get("person_id") == person_id and m.get("party_member") for m in mediator.get(path).get("mediators", [])
                    ),
                    timeout=self.loader.event_deadline,
                )
            _advance(mediator, f"{path}/start-mediation", None)
            if failed:
                _advance(
                    mediator,
                    f"{path}/failure",
                    {"reason": "双方分歧较大，调解未成", "referred_to": "litigation", "concluded_on": today},
                )
            else:
                _advance(
                    mediator,
                    f"{path}/agreement",
                    {"terms": "双方自愿达成协议，按约定履行", "signed_on": today, "recovered_fen": amount},
                )
            return 1 if volunteer is not None else 0

        deeds = sum(self.loader.each(handle, cases))
        self.expected_deeds += deeds
        self.counts["cases"] = len(cases)
        self.counts["disputes_mediated"] = sum(1 for c in cases if c[3])
        self.say(f"{len(cases)} mediation cases, {self.counts['disputes_mediated']} with a legal adviser")


def phase_lines(phases: dict[str, dict[str, float]]) -> list[str]:
    """One line per step: its time, and its rate when it loaded counted records."""
    lines = []
    for name, phase in phases.items():
        seconds, count, unit = phase["seconds"], int(phase["count"]), phase.get("unit", "")
        rate = f" — {count:,} {unit}, {count / seconds:,.0f}/s" if count and seconds > 0 else ""
        lines.append(f"{name:<18} {seconds:8.1f}s{rate}")
    return lines


def rng_people(seed: int, town: int, n: int) -> list[dict[str, Any]]:
    """Two made-up parties of a dispute (names, ID numbers and phones of nobody real)."""
    rng = random.Random(f"{seed}:{town}:parties:{n}")
    return [
        {
            "role": role,
            "name": names.person_name(rng),
            "id_number": names.id_number(rng, rng.randrange(1955, 1995)),
            "phone": names.phone(rng),
        }
        for role in ("applicant", "respondent")
    ]


def _advance(api: Api, path: str, body: Any) -> None:
    """One step of a lifecycle; a step already taken (a repeated run) answers 409 and is skipped."""
    try:
        api.post(path, body)
    except ApiError as exc:
        if exc.status != 409:
            raise


# --- roster import rows ---------------------------------------------------------------------------


def _csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _household_row(household: HouseholdPlan, codes: dict[str, str]) -> dict[str, str]:
    return {
        "code": household.code,
        "unit_code": codes[household.unit_ref],
        "address": household.address,
        "size": str(len(household.people)),
        "tags": ";".join(household.tags),
    }


def _person_row(person: PersonPlan, codes: dict[str, str]) -> dict[str, str]:
    return {
        "id_number": person.id_number,
        "name": person.name,
        "gender": person.gender,
        "birth_date": person.birth_date.isoformat(),
        "phone": person.phone or "",
        "household_code": person.household_code or "",
        "relation": person.relation or "",
        "unit_code": codes[person.unit_ref] if person.household_code is None and person.unit_ref is not None else "",
    }


def _member_row(member: MemberPlan, codes: dict[str, str]) -> dict[str, str]:
    return {
        "id_number": member.person.id_number,
        "org_unit_code": codes[member.org_unit_ref],
        "joined_on": member.joined_on.isoformat(),
        "status": member.status,
    }


def _role_row(person: PersonPlan, unit_code: str, role: str, title: str | None, since: date) -> dict[str, str]:
    return {
        "id_number": person.id_number,
        "unit_code": unit_code,
        "role": role,
        "title": title or "",
        "starts_on": since.isoformat(),
    }


def _liaison_row(kind: str, person: PersonPlan, household_code: str | None, unit_code: str | None, since: date) -> dict[str, str]:
    return {
        "kind": kind,
        "id_number": person.id_number,
        "household_code": household_code or "",
        "unit_code": unit_code or "",
        "starts_on": since.isoformat(),
    }
