"""Every table of dispatch-svc, imported in one place for migrations and tests."""

from dispatch_svc.catalogue.models import ServiceType
from dispatch_svc.orders.models import Order, OrderTransition
from dispatch_svc.providers.models import Provider, ProviderService
from dispatch_svc.roster.models import Household, Liaison, Member, Person

__all__ = ["ServiceType", "Provider", "ProviderService", "Order", "OrderTransition", "Household", "Person", "Member", "Liaison"]
