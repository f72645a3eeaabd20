"""Alert webhooks named by ``params.urlSecretRef``, delivered to a REAL receiver on loopback: through the
guard service with the environment resolver (``OTELGUARD_SECRET_<NS>_<NAME>_<KEY>``, as eval workers read
judge keys; a rotated value is picked up after the cache TTL; a missing Secret is a logged, counted failed
delivery), and end to end on `otelguard up --manifests DIR` with a Secret in DIR and one from the
environment."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from test_guard_platform import wait_for
from test_guard_webhooks import LOOPBACK, Receiver

from otelguard.evals.worker import env_secret_resolver, secret_env_name
from otelguard.guardrails import RequestMeta
from otelguard.webui.guard_service import GuardConfig, GuardService, PolicyRow
from platform_process import Platform


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def spec(ref: dict[str, str], app: str = "chat") -> dict[str, Any]:
    return {
        "format": 1,
        "selector": {"matchLabels": {"app": app}},
        "stages": ["input"],
        "rules": [
            {
                "name": "pii",
                "validator": "pii",
                "onFail": [{"type": "alert", "params": {"urlSecretRef": ref, "dedupSeconds": 0}}],
            }
        ],
    }


def test_env_resolver_delivers_rotates_and_reports_a_missing_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    env = {secret_env_name("team-a", "alert-hooks", "url"): f"{receiver.url}/first?token=s3cr3t"}
    rows = [
        PolicyRow("team-a/pii", 1, spec({"name": "alert-hooks", "key": "url"}), (1,)),
        PolicyRow("team-a/missing", 1, spec({"name": "alert-hooks", "key": "nope"}, app="other"), (1,)),
    ]
    config = GuardConfig(webhook_allow_networks=LOOPBACK, webhook_backoff_s=0.05, secret_ttl_s=0.3)
    guard = GuardService(lambda: rows, config=config, secrets=env_secret_resolver(env)).start(poll=False)
    before = REGISTRY.get_sample_value(
        "otelguard_webhook_refused_total", {"sender": "guard-alerts", "reason": "secret"}
    )
    try:

        def alert(text: str, app: str = "chat") -> list[str]:
            result = guard.engine.evaluate(text, "input", RequestMeta("default", None, {"app": app}))
            return result.actions

        assert alert("mail jane@example.com") == ["alert"]
        (first,) = receiver.wait(1)
        assert first["path"] == "/first?token=s3cr3t"
        assert first["json"]["policy"] == "team-a/pii" and first["json"]["entities"] == ["EMAIL"]
        env[secret_env_name("team-a", "alert-hooks", "url")] = f"{receiver.url}/second"  # rotated
        alert("mail bob@example.org")  # within the TTL: the cached URL
        assert receiver.wait(2)[1]["path"] == "/first?token=s3cr3t"
        time.sleep(0.35)
        alert("mail carol@example.net")
        assert receiver.wait(3)[2]["path"] == "/second"
        with caplog.at_level(logging.WARNING, logger="otelguard.guardrails.webhooks"):
            assert alert("mail dave@example.com", app="other") == ["alert"]  # the check is unaffected
            assert guard.alert_sender.flush(10)
        assert len(receiver.posts) == 3
        assert guard.alert_sender.refused == 1 and guard.alert_sender.failed == 1
        after = REGISTRY.get_sample_value(
            "otelguard_webhook_refused_total", {"sender": "guard-alerts", "reason": "secret"}
        )
        assert (after or 0) - (before or 0) == 1
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert "Secret team-a/alert-hooks has no key 'nope'" in logged
        assert "s3cr3t" not in logged and receiver.url not in logged
    finally:
        guard.close()
    assert guard.secrets is not None and guard.secrets.lookups == 3  # url, url after the TTL, nope


# -- end to end: `otelguard up --manifests DIR` -------------------------------------------------------------
def policy(name: str, app: str, ref: dict[str, str]) -> str:
    secret = f"{{name: {ref['name']}, key: {ref['key']}}}"
    return f"""\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {{name: {name}, namespace: alerts-test}}
spec:
  selector: {{matchLabels: {{app: {app}}}}}
  stages: [input]
  rules:
    - name: pii
      validator: pii
      onFail:
        - {{type: alert, params: {{urlSecretRef: {secret}, dedupSeconds: 0}}}}
        - {{type: sanitize}}
"""


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, hooks: Receiver) -> Iterator[Platform]:
    manifests = tmp_path_factory.mktemp("alert-manifests")
    (manifests / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: alert-hooks, namespace: alerts-test}\n"
        f"stringData: {{url: '{hooks.url}/from-manifest'}}\n"
    )
    (manifests / "policies.yaml").write_text(
        "---\n".join(
            [
                policy("from-manifest", "a", {"name": "alert-hooks", "key": "url"}),
                policy("from-env", "b", {"name": "env-hooks", "key": "url"}),
                policy("missing", "c", {"name": "alert-hooks", "key": "absent"}),
            ]
        )
    )
    env = {secret_env_name("alerts-test", "env-hooks", "url"): f"{hooks.url}/from-env"}
    if "OTELGUARD_WEBHOOK_ALLOW_NETWORKS" in os.environ:  # it would replace otelguard up's default
        pytest.fail("unset OTELGUARD_WEBHOOK_ALLOW_NETWORKS to run this test")
    platform = Platform(tmp_path_factory.mktemp("alert-platform") / "data", env=env, manifests=manifests)
    platform.start()
    yield platform
    platform.close()


def check(up: Platform, app: str) -> dict[str, Any]:
    body = {"stage": "input", "input": "mail jane@example.com", "metadata": {"labels": {"app": app}}}
    r = httpx.post(f"{up.api_url}/api/v1/guard", json=body, headers=up.auth, timeout=30)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.mark.slow
def test_otelguard_up_resolves_secret_refs_from_manifests_and_env(up: Platform, hooks: Receiver) -> None:
    wait_for("the policies to load", lambda: check(up, "a")["policies"] == ["alerts-test/from-manifest"])
    # Loopback receivers work under otelguard up's default (no OTELGUARD_WEBHOOK_ALLOW_NETWORKS).
    posts = hooks.wait(1)
    assert posts[0]["path"] == "/from-manifest" and posts[0]["json"]["policy"] == "alerts-test/from-manifest"
    assert check(up, "b")["text"] == "mail <EMAIL>"
    assert hooks.wait(2)[1]["path"] == "/from-env"
    assert check(up, "c")["actions"][0]["actions"] == ["alert", "sanitize"]

    def refused() -> float:
        text = httpx.get(f"{up.otlp_http_url}/metrics", timeout=10).text
        line = 'otelguard_webhook_refused_total{reason="secret",sender="guard-alerts"}'
        return next((float(x.split()[-1]) for x in text.splitlines() if x.startswith(line)), 0.0)

    wait_for("the failed delivery to be counted", lambda: refused() == 1.0)
    assert "Secret alerts-test/alert-hooks has no key 'absent'" in up.logs()
    assert len(hooks.posts) == 2
