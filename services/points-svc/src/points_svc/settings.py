"""points-svc configuration (environment variables; see README)."""

from pydantic import Field

from shared.settings import ServiceSettings


class PointsSettings(ServiceSettings):
    """Settings of points-svc."""

    service_name: str = "points-svc"
    # 一月一公示: how long a monthly notice takes objections, in working days (Mon–Fri).
    notice_objection_working_days: int = Field(5, ge=0, le=30)
    # 一创多评: how long a revoked household or village waits before it may be a candidate again.
    appraisal_cool_off_days: int = Field(365, ge=0, le=3650)
