"""What the figures endpoint returns (the town dashboard reads it through the gateway)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class CaseOutcomes(BaseModel):
    """Mediation cases concluded in the period, by outcome."""

    agreed: int = 0
    failed: int = 0


class LegalFigures(BaseModel):
    """Rule-of-law figures for a unit's subtree over a period (dates inclusive, Asia/Shanghai).

    Counting rules: consultations by the day asked; legal affairs by the day opened (closed ones
    by the day closed); cases registered by registration day, concluded by conclusion day;
    campaigns that cover a unit in the subtree and run during the period; teams that existed
    during the period; events, inspections and patrols by their day. Amounts are integer fen.
    """

    unit_id: str
    start: date | None = Field(None, serialization_alias="from")
    end: date | None = Field(None, serialization_alias="to")
    legal_consultations: int
    legal_affairs: int
    legal_affairs_closed: int
    cases_registered: int
    cases_mediated: int = Field(description="cases concluded (agreed or failed) in the period")
    disputes_mediated: int = Field(
        description="cases concluded in the period with a legal adviser among the mediators (the report's 'disputes advisers took part in mediating')"
    )
    cases_by_outcome: CaseOutcomes
    cases_high_risk_open: int = Field(description="cases flagged high risk and not yet concluded, now")
    adviser_recovered_fen: int = Field(
        description="recovered through legal advisers: legal affairs closed in the period plus cases concluded in the period that an adviser mediated"
    )
    mediation_recovered_fen: int = Field(description="recovered by every case concluded in the period")
    enforcement_campaigns: int
    inspections: int
    rectifications_pending: int = Field(description="of the period's inspections, those still awaiting rectification")
    publicity_teams: int
    publicity_events: int
    publicity_audience: int
    patrols: int
    patrol_incidents: int
    patrol_recovered_fen: int = Field(description="recovered through patrols and anti-fraud work (kept apart from advisers)")
    patrol_losses_prevented_fen: int
