"""Wiring: Django admin served by the portal's own site (admin role only, guarded login)."""

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "neuronova_portal.admin_site.PortalAdminSite"
