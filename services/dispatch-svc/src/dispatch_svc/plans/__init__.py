"""Monthly demand and dispatch plans (每月派单计划): what was ordered, and who serves which batch."""
