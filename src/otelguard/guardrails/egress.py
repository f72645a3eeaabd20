"""Where outgoing webhooks may go (SSRF protection), shared by alert and callback deliveries.

Anyone with an API key names callback URLs, so before each attempt the host is resolved and every address
checked (:class:`AddressPolicy`): loopback, link-local (incl. cloud metadata at 169.254.169.254), private,
unique-local, unspecified, multicast, reserved and other non-global addresses are refused unless an
allow-list (``OTELGUARD_WEBHOOK_ALLOW_NETWORKS``, CIDRs) opens them. :func:`pin_target` then gives the
checked address to connect to — the URL's host replaced by it, the ``Host`` header and TLS SNI/certificate
check keeping the original name — so a DNS answer that changes after the check (rebinding) cannot
redirect the POST. IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address inside.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

__all__ = [
    "ALLOW_NETWORKS_ENV",
    "LOCAL_NETWORKS",
    "AddressPolicy",
    "IPAddress",
    "IPNetwork",
    "PinnedTarget",
    "Resolver",
    "WebhookRefused",
    "address_class",
    "parse_networks",
    "pin_target",
    "system_resolver",
]

ALLOW_NETWORKS_ENV = "OTELGUARD_WEBHOOK_ALLOW_NETWORKS"
# What `otelguard up` (one user's machine) allows when the variable is unset: receivers on localhost / LAN.
LOCAL_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]  # (host, port) -> addresses
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class WebhookRefused(ValueError):
    """The destination is one webhooks may not reach (SSRF protection); final, never retried."""


def parse_networks(value: str | Iterable[str], source: str = ALLOW_NETWORKS_ENV) -> tuple[IPNetwork, ...]:
    """CIDRs (comma-separated, or an iterable); ValueError naming ``source`` and the bad entry."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[IPNetwork] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"{source}: {item!r} is not an IP network in CIDR form (e.g. 10.0.0.0/8, fd00::/8): {exc}"
            ) from None
    return tuple(out)


def _unmapped(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address (where the packets really go)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_class(ip: IPAddress) -> str | None:
    """Why webhooks may not reach ``ip`` by default (``loopback``, ``link-local``, ``private``, …), None for
    a public (global unicast) address."""
    ip = _unmapped(ip)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if ip.is_reserved:  # before private: Python counts 240.0.0.0/4 as both
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "non-public"
    return None


class AddressPolicy:
    """The addresses webhooks may connect to: public ones, plus the ``allow`` networks."""

    def __init__(self, allow: Iterable[IPNetwork | str] = ()) -> None:
        self.allow: tuple[IPNetwork, ...] = tuple(
            n if not isinstance(n, str) else parse_networks([n], "allowed network")[0] for n in allow
        )

    def refusal(self, ip: IPAddress) -> str | None:
        """None when ``ip`` may be reached, else its class (``loopback``, ``private``, …)."""
        why = address_class(ip)
        if why is None:
            return None
        inner = _unmapped(ip)
        if any(ip in net or inner in net for net in self.allow):
            return None
        return why

    def check(self, ip: IPAddress, host: str) -> None:
        why = self.refusal(ip)
        if why is not None:
            shown = f"{host} resolves to {ip}" if host != str(ip) else str(ip)
            article = "an" if why[0] in "aeiou" else "a"
            raise WebhookRefused(
                f"{shown}, {article} {why} address, which webhooks may not reach "
                f"(allow its network with {ALLOW_NETWORKS_ENV})"
            )

    def check_literal(self, url: str) -> None:
        """WebhookRefused when the URL's host is an IP address that is not allowed (cheap: no DNS), so a
        request naming one can be refused up front; host names are checked at delivery."""
        host = urlsplit(url).hostname or ""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return
        self.check(ip, host)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (getaddrinfo, TCP), in the resolver's order, deduplicated."""
    seen: dict[str, None] = {}
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


@dataclass(frozen=True, slots=True)
class PinnedTarget:
    """Where one attempt connects: ``url`` has the checked address as its host; ``host`` is the original
    ``Host`` header, ``sni`` the TLS server name (https with a host name)."""

    url: str
    host: str
    sni: str | None
    address: str


def pin_target(url: str, policy: AddressPolicy, resolver: Resolver = system_resolver) -> PinnedTarget:
    """Resolve ``url``'s host, check every address, and pin the first. Raises WebhookRefused when any
    address is not allowed (a name with one private answer is not trusted for its public ones), OSError
    when the name does not resolve."""
    parsed = httpx.URL(url)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        policy.check(literal, host)
        return PinnedTarget(url, parsed.netloc.decode("ascii"), None, str(literal))
    name = parsed.raw_host.decode("ascii")  # IDNA-encoded
    found = list(resolver(name, port))
    if not found:
        raise OSError(f"{name} has no addresses")
    addresses = [ipaddress.ip_address(a) for a in found]
    for ip in addresses:
        policy.check(ip, name)
    pinned = addresses[0]
    return PinnedTarget(
        str(parsed.copy_with(host=str(pinned))),
        parsed.netloc.decode("ascii"),
        name if parsed.scheme == "https" else None,
        str(pinned),
    )
