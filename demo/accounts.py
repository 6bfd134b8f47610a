"""The demo's log-ins: the bootstrap admin and the ordinary users the generator creates (dev mode only).

Production refuses the bootstrap admin's default password, and the demo is never loaded there,
so these credentials only ever exist on a developer's machine.
"""

from __future__ import annotations

from dataclasses import dataclass

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin12345"
# One password for every demo user keeps the tour short; each account still has its own role and scope.
DEMO_PASSWORD = "demo12345"


@dataclass(frozen=True)
class DemoAccount:
    """A user the generator creates: role, where its scope lies, and what it is for."""

    username: str
    role: str
    scope: str  # "town", "village:<n>" (n-th village, 0-based) or "grid:<n>" (the first grid of the n-th village)
    display_name: str
    purpose: str


def town_accounts(town_code: str, *, reported: bool = True) -> list[DemoAccount]:
    """The users of one demo town (usernames start with the town's code, e.g. `yuwang.admin`).

    The town of the report (`reported`) also gets its two named villages' secretaries and a grid worker.
    """
    accounts = [
        DemoAccount(
            f"{town_code}.admin", "town_admin", "town", "镇综治中心管理员", "the whole town: users, rules, notices, dashboard"
        ),
        DemoAccount(
            f"{town_code}.sima", "village_secretary", "village:0", "司马村党支部书记", "司马村: its points notices and orders"
        ),
        DemoAccount(f"{town_code}.shizhuang", "village_secretary", "village:1", "史庄村党支部书记", "史庄村"),
        DemoAccount(
            f"{town_code}.grid", "grid_worker", "grid:0", "司马村第一网格全科网格员", "one grid: enters residents' orders"
        ),
        DemoAccount(
            f"{town_code}.mediator", "mediator", "town", "镇人民调解委员会调解员", "mediation cases (full files, audited)"
        ),
        DemoAccount(
            f"{town_code}.auditor", "auditor", "town", "镇纪委审计员", "reads the case-read audit log, verifies the points ledger"
        ),
    ]
    return accounts if reported else [a for a in accounts if a.scope == "town"]


def banner_lines(town_code: str = "yuwang") -> list[str]:
    """`username / password` lines for the start-up banner and the README tour."""
    lines = [f"{ADMIN_USERNAME} / {ADMIN_PASSWORD}  platform admin"]
    lines += [f"{a.username} / {DEMO_PASSWORD}  {a.role}: {a.purpose}" for a in town_accounts(town_code)]
    return lines
