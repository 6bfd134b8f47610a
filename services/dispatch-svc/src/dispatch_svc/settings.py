"""dispatch-svc configuration (environment variables; see README)."""

from shared.settings import ServiceSettings


class DispatchSettings(ServiceSettings):
    """Settings of dispatch-svc."""

    service_name: str = "dispatch-svc"
    # How often the background job flags and escalates overdue orders (0 turns the job off).
    overdue_sweep_interval_s: float = 300.0
    # An order escalated to its village that is still open this many hours later goes to the town.
    escalate_to_town_after_hours: int = 48
    # Open311 discovery: who answers for this endpoint, and its public base URL.
    open311_contact: str = "县委政法委 网格化服务管理中心"
    open311_base_url: str = "http://127.0.0.1:8000/open311/v2"
