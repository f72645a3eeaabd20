"""Where outgoing webhooks may go (SSRF protection): address classes, the allow-list, pinning a URL to its
checked address, and the configuration (strict in a cluster, loopback/private for `otelguard up`, a bad
CIDR a clear startup error)."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from otelguard.guardrails.egress import (
    ALLOW_NETWORKS_ENV,
    LOCAL_NETWORKS,
    AddressPolicy,
    WebhookRefused,
    address_class,
    parse_networks,
    pin_target,
)
from otelguard.webui.guard_service import GuardConfig


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: where the packets really go
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("fec0::1", "site-local"),
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("172.32.0.1", None),  # just outside 172.16.0.0/12
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_classes(address: str, kind: str | None) -> None:
    assert address_class(ipaddress.ip_address(address)) == kind


def test_the_allow_list_opens_only_its_networks() -> None:
    policy = AddressPolicy(parse_networks("127.0.0.0/8, 10.0.0.0/8"))
    ip = ipaddress.ip_address
    assert policy.refusal(ip("127.0.0.1")) is None
    assert policy.refusal(ip("::ffff:127.0.0.1")) is None  # the mapped form of an allowed address
    assert policy.refusal(ip("10.200.0.1")) is None
    assert policy.refusal(ip("::1")) == "loopback"  # IPv6 loopback is another network
    assert policy.refusal(ip("192.168.0.1")) == "private"
    assert policy.refusal(ip("169.254.169.254")) == "link-local"
    assert AddressPolicy().refusal(ip("127.0.0.1")) == "loopback"
    assert AddressPolicy().refusal(ip("8.8.8.8")) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.7/x",
        "http://0.0.0.0:9/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_literal_addresses_are_refused_up_front(url: str) -> None:
    with pytest.raises(WebhookRefused, match=f"which webhooks may not reach .*{ALLOW_NETWORKS_ENV}"):
        AddressPolicy().check_literal(url)
    with pytest.raises(WebhookRefused):
        pin_target(url, AddressPolicy(), resolver=lambda host, port: pytest.fail("no lookup for a literal"))


def test_host_names_are_not_resolved_up_front_but_at_pinning() -> None:
    AddressPolicy().check_literal("http://localhost:9/hook")  # no DNS on the request path
    with pytest.raises(
        WebhookRefused, match=re.escape("localhost resolves to 127.0.0.1, a loopback address")
    ):
        pin_target("http://localhost:9/hook", AddressPolicy())  # the system resolver


def test_pinning_keeps_host_and_sni_and_refuses_mixed_answers() -> None:
    calls: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return ["93.184.216.34", "2606:2800:220:1::1"]

    target = pin_target("https://Hook.Example.com/a?b=1", AddressPolicy(), resolver)
    assert calls == [("hook.example.com", 443)]
    assert (target.url, target.host, target.sni, target.address) == (
        "https://93.184.216.34/a?b=1",
        "hook.example.com",
        "hook.example.com",
        "93.184.216.34",
    )
    plain = pin_target("http://hook.example.com:8080/", AddressPolicy(), resolver)
    assert (plain.url, plain.host, plain.sni) == ("http://93.184.216.34:8080/", "hook.example.com:8080", None)
    six = pin_target("http://h.example/", AddressPolicy(), lambda h, p: ["2606:2800:220:1::1"])
    assert six.url == "http://[2606:2800:220:1::1]/"
    # One private answer among public ones: the name is not trusted (a rebinding setup).
    with pytest.raises(
        WebhookRefused, match=re.escape("rebind.example resolves to 10.0.0.1, a private address")
    ):
        pin_target("http://rebind.example/", AddressPolicy(), lambda h, p: ["93.184.216.34", "10.0.0.1"])
    allowed = AddressPolicy(parse_networks("10.0.0.0/8"))
    assert pin_target("http://svc.internal/", allowed, lambda h, p: ["10.0.0.1"]).address == "10.0.0.1"


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("nope", "nope"),
        ("127.0.0.0/8, localhost", "localhost"),
        ("10.0.0.0/8;192.168.0.0/16", "10.0.0.0/8;192.168.0.0/16"),
    ],
)
def test_a_bad_cidr_is_a_clear_error(raw: str, bad: str) -> None:
    with pytest.raises(ValueError, match=f"{ALLOW_NETWORKS_ENV}: '{bad}' is not an IP network in CIDR form"):
        GuardConfig.from_env({ALLOW_NETWORKS_ENV: raw})


def test_strict_in_a_cluster_loopback_and_private_for_otelguard_up() -> None:
    assert GuardConfig.from_env({}).webhook_allow_networks == ()
    assert GuardConfig.from_env({}, local=True).webhook_allow_networks == LOCAL_NETWORKS
    # Set (even empty) the variable wins, also for `otelguard up`.
    assert GuardConfig.from_env({ALLOW_NETWORKS_ENV: ""}, local=True).webhook_allow_networks == ()
    chosen = GuardConfig.from_env({ALLOW_NETWORKS_ENV: "127.0.0.1/8 , fd00::/8"})
    assert chosen.webhook_allow_networks == ("127.0.0.0/8", "fd00::/8")
    assert chosen.sender("x").addresses.refusal(ipaddress.ip_address("127.0.0.2")) is None
    local = GuardConfig.from_env({}, local=True).sender("x").addresses
    for address in ("127.0.0.1", "::1", "10.1.1.1", "192.168.0.10", "fd00::5"):
        assert local.refusal(ipaddress.ip_address(address)) is None, address
    assert local.refusal(ipaddress.ip_address("169.254.169.254")) == "link-local"  # never by default


def test_the_default_alert_url_is_checked_at_startup() -> None:
    env = {"OTELGUARD_ALERT_WEBHOOK_URL": "http://10.0.0.5:9000/alerts"}
    with pytest.raises(
        ValueError, match=re.escape("OTELGUARD_ALERT_WEBHOOK_URL: 10.0.0.5, a private address")
    ):
        GuardConfig.from_env(env)
    assert GuardConfig.from_env(env, local=True).alert_webhook_url == env["OTELGUARD_ALERT_WEBHOOK_URL"]
    assert GuardConfig.from_env({**env, ALLOW_NETWORKS_ENV: "10.0.0.0/24"}).alert_webhook_url is not None


@pytest.mark.parametrize("command", ["up", "api"])
def test_cli_refuses_to_start_with_a_bad_allow_list(command: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        ALLOW_NETWORKS_ENV: "10.0.0.0/8,not-a-net",
        "OTELGUARD_DATA_DIR": str(tmp_path),
        # `otelguard api` wants external stores; nothing listens there (it must fail before connecting).
        "OTELGUARD_CLICKHOUSE_URL": "http://127.0.0.1:9/db",
        "OTELGUARD_POSTGRES_DSN": "postgresql://u@127.0.0.1:9/db",
    }
    if command == "up":
        env.pop("OTELGUARD_CLICKHOUSE_URL")
        env.pop("OTELGUARD_POSTGRES_DSN")
    done = subprocess.run(
        [sys.executable, "-m", "otelguard.cli", command, "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: {ALLOW_NETWORKS_ENV}: 'not-a-net' is not an IP network" in done.stderr
    assert "Traceback" not in done.stderr
