"""Pure-ish edge: the portal's trust and limit settings (proxies, networks, throttles, sessions,
uploads), read once from the environment into a frozen value nested in PortalConfig."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK = "127.0.0.1/32,::1/128"
# RFC 1918, loopback and IPv6 unique-local: "the hospital's own network" unless told otherwise.
PRIVATE = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"


class NetworkListError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    # Where the portal's own nginx connects from: only its X-Real-IP / X-Forwarded-For count.
    nginx_addresses: tuple[Network, ...]
    # Proxies in front of nginx (e.g. Cloudflare's published ranges): when one of them is
    # nginx's peer, it names the client. Nobody else's headers are believed.
    trusted_proxies: tuple[Network, ...]
    client_ip_header: str  # e.g. "CF-Connecting-IP", read only when a trusted proxy reached nginx
    internal_networks: tuple[Network, ...]  # who sees /api/health details
    admin_networks: tuple[Network, ...]  # who may reach Django admin at all
    login_failures: int  # failed logins per username before the backoff starts
    login_backoff_seconds: int  # first wait; doubles with each further failure
    login_backoff_max_seconds: int
    admin_rate: str  # every /api/admin/ request, per client address
    reanalyze_rate: str  # per study, whoever asks
    session_hours: float  # absolute lifetime of a login's refresh-token chain
    upload_max_zip_ratio: int  # expanded bytes per compressed byte, per zip member
    upload_concurrency: int  # uploads in progress per portal process


def networks(text: str) -> tuple[Network, ...]:
    """Parse a comma list of addresses or CIDR blocks; a bad entry is an error, never skipped."""
    parsed = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            parsed.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise NetworkListError(f"not an address or network: {item!r}") from exc
    return tuple(parsed)


def load(get: Callable[[str, str], str]) -> SecurityConfig:
    """``get(name, default)`` reads one environment variable as text."""
    internal = get("PORTAL_INTERNAL_NETWORKS", PRIVATE)
    return SecurityConfig(
        nginx_addresses=networks(get("PORTAL_NGINX_ADDRESSES", LOOPBACK)),
        trusted_proxies=networks(get("PORTAL_TRUSTED_PROXIES", "")),
        client_ip_header=get("PORTAL_CLIENT_IP_HEADER", "").strip(),
        internal_networks=networks(internal),
        admin_networks=networks(get("PORTAL_ADMIN_NETWORKS", internal)),
        login_failures=int(get("PORTAL_LOGIN_FAILURES", "5")),
        login_backoff_seconds=int(get("PORTAL_LOGIN_BACKOFF_SECONDS", "30")),
        login_backoff_max_seconds=int(get("PORTAL_LOGIN_BACKOFF_MAX_SECONDS", "900")),
        admin_rate=get("PORTAL_ADMIN_RATE", "120/min"),
        reanalyze_rate=get("PORTAL_REANALYZE_RATE", "3/hour"),
        session_hours=float(get("JWT_SESSION_HOURS", "12")),
        upload_max_zip_ratio=int(get("PORTAL_UPLOAD_MAX_ZIP_RATIO", "200")),
        upload_concurrency=int(get("PORTAL_UPLOAD_CONCURRENCY", "2")),
    )
