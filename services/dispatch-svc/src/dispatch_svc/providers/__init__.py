"""Providers (服务主体): organisations and teams that serve orders, with their area and monthly capacity."""
