"""Every table of dispatch-svc, imported in one place for migrations and tests."""

from dispatch_svc.activities.models import Activity
from dispatch_svc.catalogue.models import ServiceType
from dispatch_svc.lectures.models import Lecture, LectureLecturer
from dispatch_svc.orders.models import Order, OrderTransition
from dispatch_svc.plans.models import Plan, PlanItem
from dispatch_svc.providers.models import Provider, ProviderService
from dispatch_svc.roster.models import Household, Liaison, Member, Person

__all__ = [
    "ServiceType",
    "Provider",
    "ProviderService",
    "Order",
    "OrderTransition",
    "Plan",
    "PlanItem",
    "Lecture",
    "LectureLecturer",
    "Activity",
    "Household",
    "Person",
    "Member",
    "Liaison",
]
