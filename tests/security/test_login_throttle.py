"""Door 3: the login throttle keys on the address nginx saw, never on a header the client wrote,
and a username under attack backs off whatever addresses the guesses come from."""

from __future__ import annotations

import ipaddress

import pytest

from tests.support.hardened import Hardened, detail
from tests.support.portal import session_from


def test_rotating_x_forwarded_for_does_not_reset_the_login_throttle(hardened: Hardened) -> None:
    """PORTAL_LOGIN_RATE is 5/min per (address, username); a fresh X-Forwarded-For (and
    X-Real-IP) on each guess must not make each guess look like a new client."""
    victim = hardened.create_user("clinician")
    codes = []
    for n in range(7):
        spoofed = f"203.0.113.{n + 1}"
        answer = session_from("127.0.0.1").post(
            f"{hardened.url}/api/auth/token",
            json={"username": victim, "password": f"guess-{n}"},
            headers={"X-Forwarded-For": spoofed, "X-Real-IP": spoofed},
            timeout=60,
        )
        codes.append(answer.status_code)
    assert codes == [401] * 5 + [429] * 2, codes
    rows = hardened.audit_rows(username=victim)
    assert {row["client_ip"] for row in rows} == {"127.0.0.1"}, rows


def test_a_username_backs_off_whatever_addresses_the_guesses_come_from(
    hardened: Hardened,
) -> None:
    """Eight wrong passwords (PORTAL_LOGIN_FAILURES) from eight real addresses: the ninth attempt,
    even with the right password and from yet another address, waits (429 + Retry-After)."""
    victim = hardened.create_user("radiologist")
    for n in range(8):
        answer = session_from(f"127.0.0.{20 + n}").post(
            f"{hardened.url}/api/auth/token",
            json={"username": victim, "password": f"guess-{n}"},
            timeout=60,
        )
        assert answer.status_code == 401, (n, detail(answer))
    right = session_from("127.0.0.40").post(
        f"{hardened.url}/api/auth/token",
        json={"username": victim, "password": hardened.passwords[victim]},
        timeout=60,
    )
    assert right.status_code == 429, detail(right)
    assert int(right.headers["Retry-After"]) >= 1
    assert "access" not in right.text
    # the browser login shares the same guard
    browser = session_from("127.0.0.41").post(
        f"{hardened.url}/api/auth/login",
        json={"username": victim, "password": hardened.passwords[victim]},
        timeout=60,
    )
    assert browser.status_code == 429, detail(browser)
    # another account is not affected
    assert hardened.login("clinician").status_code == 200


NGINX = (ipaddress.ip_network("127.0.0.1/32"),)
CLOUDFLARE = tuple(ipaddress.ip_network(n) for n in ("173.245.48.0/20", "2400:cb00::/32"))


@pytest.mark.parametrize(
    ("peer", "real_ip", "forwarded", "cf_ip", "expected"),
    [
        # nginx on loopback saw a direct client: that address, whatever the headers claim
        ("127.0.0.1", "198.51.100.7", "6.6.6.6, 198.51.100.7", "6.6.6.6", "198.51.100.7"),
        # the request reached nginx from Cloudflare: Cloudflare's CF-Connecting-IP names the client
        (
            "127.0.0.1",
            "173.245.48.9",
            "6.6.6.6, 198.51.100.7, 173.245.48.9",
            "198.51.100.7",
            "198.51.100.7",
        ),
        # from Cloudflare without the header: the nearest untrusted hop in X-Forwarded-For
        ("127.0.0.1", "173.245.48.9", "6.6.6.6, 198.51.100.7, 173.245.48.9", "", "198.51.100.7"),
        ("127.0.0.1", "2400:cb00::1", "", "2001:db8::5", "2001:db8::5"),
        # a client on nginx's own host is still just a client
        ("127.0.0.1", "127.0.0.1", "6.6.6.6, 127.0.0.1", "6.6.6.6", "127.0.0.1"),
        # Django reached directly (not through its nginx): its peer, headers ignored
        ("10.1.2.3", "6.6.6.6", "6.6.6.6", "6.6.6.6", "10.1.2.3"),
        # garbage in the headers never becomes an address
        ("127.0.0.1", "not-an-ip", "", "", "127.0.0.1"),
        ("127.0.0.1", "173.245.48.9", "x, 173.245.48.9", "nonsense", "173.245.48.9"),
    ],
)
def test_client_address_trusts_only_configured_proxies(
    peer: str, real_ip: str, forwarded: str, cf_ip: str, expected: str
) -> None:
    from common.client_address import client_address  # noqa: PLC0415

    assert (
        client_address(
            peer=peer,
            real_ip=real_ip,
            forwarded_for=forwarded,
            client_header_value=cf_ip,
            nginx_addresses=NGINX,
            trusted_proxies=CLOUDFLARE,
        )
        == expected
    )
