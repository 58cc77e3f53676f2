"""Wiring: the client address of a Django request and the network rules that depend on it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from common import client_address as pure
from common.security_config import Network

_ATTRIBUTE = "_neuronova_client_ip"


def client_ip(request: HttpRequest) -> str:
    """The client's address, from the trusted proxies' headers only (computed once per request)."""
    cached = getattr(request, _ATTRIBUTE, None)
    if cached is not None:
        return str(cached)
    security = settings.CONFIG.security
    meta = request.META
    header = security.client_ip_header
    value = pure.client_address(
        peer=str(meta.get("REMOTE_ADDR", "")),
        real_ip=str(meta.get("HTTP_X_REAL_IP", "")),
        forwarded_for=str(meta.get("HTTP_X_FORWARDED_FOR", "")),
        client_header_value=(
            str(meta.get("HTTP_" + header.upper().replace("-", "_"), "")) if header else ""
        ),
        nginx_addresses=security.nginx_addresses,
        trusted_proxies=security.trusted_proxies,
    )
    setattr(request, _ATTRIBUTE, value)
    return value


def _address_is_known(request: HttpRequest) -> bool:
    """Whether client_ip() names the real client: the request came through the portal's nginx,
    or straight from its peer with no proxy header. A proxy that is not listed in
    PORTAL_NGINX_ADDRESSES (e.g. nginx in another container) makes every client look like that
    proxy, a private address: such requests never count as internal or admin."""
    peer = pure.parse(str(request.META.get("REMOTE_ADDR", "")))
    if peer is not None and pure.within(peer, settings.CONFIG.security.nginx_addresses):
        return True
    return not (request.META.get("HTTP_X_REAL_IP") or request.META.get("HTTP_X_FORWARDED_FOR"))


def _in(request: HttpRequest, networks: tuple[Network, ...]) -> bool:
    address = pure.parse(client_ip(request))
    return address is not None and pure.within(address, networks) and _address_is_known(request)


def is_internal(request: HttpRequest) -> bool:
    return _in(request, settings.CONFIG.security.internal_networks)


def in_admin_networks(request: HttpRequest) -> bool:
    return _in(request, settings.CONFIG.security.admin_networks)
