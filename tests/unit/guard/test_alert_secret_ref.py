"""``alert`` with ``params.urlSecretRef``: the params (exactly one of url / urlSecretRef, or neither), the
GuardrailPolicy controller accepting it, the engine handing the reference on, and the Secret lookup that
resolves it at send time (cached briefly; a missing Secret a clear reason that never shows the URL)."""

from __future__ import annotations

from typing import Any

import pytest

from otelguard.api.v1alpha1.common import SecretKeyRef
from otelguard.guardrails import Engine, compile_policy
from otelguard.guardrails.actions import AlertParams, compile_action
from otelguard.guardrails.registry import ParamsError
from otelguard.guardrails.webhooks import SecretStore, SecretUrl, UnresolvedUrl
from unit.controllers.ctl_support import edited, manifest, ready, reconcile

REF = {"name": "alert-hooks", "key": "slack"}


def test_params_take_url_or_secret_ref_or_neither() -> None:
    params = compile_action("alert", {"urlSecretRef": REF}).params
    assert isinstance(params, AlertParams)
    assert params.url_secret_ref == SecretKeyRef(name="alert-hooks", key="slack") and params.url is None
    assert compile_action("alert", {}).params == AlertParams()
    with pytest.raises(ParamsError, match=r"params\.url or params\.urlSecretRef, not both"):
        compile_action("alert", {"url": "https://hooks.example.com/x", "urlSecretRef": REF})


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"name": "alert-hooks"}, "urlSecretRef.key"),
        ({"key": "slack"}, "urlSecretRef.name"),
        ({"name": "Not_A_Name", "key": "slack"}, "urlSecretRef.name"),
        ({"name": "hooks", "key": "a key"}, "urlSecretRef.key"),
        ({"name": "hooks", "key": "k", "namespace": "other"}, "urlSecretRef.namespace"),
        ("hooks/slack", "urlSecretRef"),
    ],
)
def test_bad_secret_refs_are_refused(ref: Any, message: str) -> None:
    with pytest.raises(ParamsError) as caught:
        compile_action("alert", {"urlSecretRef": ref})
    assert message in "; ".join(caught.value.problems)


def alert_rule(params: dict[str, Any]) -> dict[str, Any]:
    return {"name": "pii", "validator": "pii", "onFail": [{"type": "alert", "params": params}]}


def test_the_controller_compiles_a_policy_with_a_secret_ref() -> None:
    good, status = reconcile(
        edited(manifest("guardrailpolicy"), "spec.rules.0", alert_rule({"urlSecretRef": REF}))
    )
    assert ready(status)[0] == "True", ready(status)
    assert good.db is not None
    assert good.db.row.spec["rules"][0]["onFail"][0]["params"] == {"urlSecretRef": REF}
    both = {"url": "https://hooks.example.com/x", "urlSecretRef": REF}
    _, status = reconcile(edited(manifest("guardrailpolicy"), "spec.rules.0", alert_rule(both)))
    state, _, message = ready(status)
    assert state == "False" and "spec.rules[0] (pii)" in message and "not both" in message


def test_the_engine_hands_the_reference_to_the_sink() -> None:
    sent: list[Any] = []

    class Sink:
        def send(self, alert: Any) -> None:
            sent.append(alert)

    policy = compile_policy(
        {"stages": ["input"], "rules": [alert_rule({"urlSecretRef": REF})]}, name="team/p"
    )
    Engine([policy], alert_sink=Sink()).evaluate("mail jane@example.com", "input")
    (alert,) = sent
    assert alert.url is None and alert.url_secret_ref == SecretKeyRef(name="alert-hooks", key="slack")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_store_caches_values_and_misses_briefly() -> None:
    values: dict[tuple[str, str, str], str] = {("team", "hooks", "url"): "https://a.example/1"}
    calls: list[tuple[str, str, str]] = []

    def resolver(ns: str, name: str, key: str) -> str | None:
        calls.append((ns, name, key))
        return values.get((ns, name, key))

    clock = Clock()
    store = SecretStore(resolver, ttl_s=30, miss_ttl_s=5, clock=clock)
    assert store.get("team", "hooks", "url") == "https://a.example/1"
    values[("team", "hooks", "url")] = "https://a.example/2"  # rotated
    clock.now += 29
    assert store.get("team", "hooks", "url") == "https://a.example/1"  # cached
    clock.now += 2
    assert store.get("team", "hooks", "url") == "https://a.example/2"  # re-read after the TTL
    assert store.get("team", "gone", "url") is None
    values[("team", "gone", "url")] = "https://a.example/3"
    clock.now += 4
    assert store.get("team", "gone", "url") is None  # a miss is cached too, more briefly
    clock.now += 2
    assert store.get("team", "gone", "url") == "https://a.example/3"
    assert len(calls) == store.lookups == 4


def test_unresolvable_urls_say_why_and_never_show_the_url() -> None:
    secret_url = "https://hooks.example.com/services/T000/B000/s3cr3t-token"

    def resolver(ns: str, name: str, key: str) -> str | None:
        if name == "broken":
            raise ConnectionError("API server unreachable")
        return {"url": secret_url, "bad": "ftp://s3cr3t-token@files"}.get(key)

    store = SecretStore(resolver)
    assert SecretUrl("team", "hooks", "url", store).resolve() == secret_url
    cases = [
        (SecretUrl("team", "hooks", "url", None), "no Secret resolver is configured in this server"),
        (
            SecretUrl("team", "hooks", "nope", store),
            "Secret team/hooks has no key 'nope' (or does not exist)",
        ),
        (SecretUrl("team", "broken", "url", store), "reading Secret team/broken failed: ConnectionError"),
        (SecretUrl("team", "hooks", "bad", store), "key 'bad' is not a usable URL: the webhook URL must use"),
    ]
    for ref, message in cases:
        with pytest.raises(UnresolvedUrl) as caught:
            ref.resolve()
        text = str(caught.value)
        assert text.startswith("params.urlSecretRef: ") and message in text, text
        assert "s3cr3t" not in text
    assert "s3cr3t" not in str(SecretUrl("team", "hooks", "url", store))  # what logs show
