"""Pure: who the client is, believing forwarding headers only from trusted proxies.

The portal sits behind its own nginx, which sets ``X-Real-IP`` to its peer (``$remote_addr``)
and appends that peer to ``X-Forwarded-For``. Django believes those headers only when its own
peer is that nginx. nginx's peer is the client, unless it is one of the trusted proxies in front
of nginx (e.g. Cloudflare): then the client is what that proxy says (its client header, or the
nearest untrusted hop of X-Forwarded-For). A client can write any header, so a header that no
trusted hop wrote is never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from common.security_config import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def within(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address(
    *,
    peer: str,
    real_ip: str,
    forwarded_for: str,
    client_header_value: str,
    nginx_addresses: tuple[Network, ...],
    trusted_proxies: tuple[Network, ...],
) -> str:
    """The client's address as text.

    ``peer`` is who connected to Django (REMOTE_ADDR), ``real_ip`` what nginx says its own peer
    was, ``forwarded_for`` the X-Forwarded-For chain, ``client_header_value`` a configured
    client header such as Cloudflare's CF-Connecting-IP (empty when not configured).
    """
    peer_address = parse(peer)
    if peer_address is None or not within(peer_address, nginx_addresses):
        return peer[:64]  # not our nginx: its headers mean nothing
    nearest = parse(real_ip)
    if nearest is None:
        return str(peer_address)  # nginx named nobody: the hop itself
    if not within(nearest, trusted_proxies):
        return str(nearest)
    # nginx was reached through a trusted proxy: that proxy names the client
    named = parse(client_header_value) if client_header_value else None
    if named is not None:
        return str(named)
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    if hops and parse(hops[-1]) == nearest:
        hops.pop()  # nginx's own entry ($remote_addr)
    candidate = nearest
    for hop in reversed(hops):
        address = parse(hop)
        if address is None:
            break  # garbage: nothing further left can be believed
        candidate = address
        if not within(address, trusted_proxies):
            break
    return str(candidate)
