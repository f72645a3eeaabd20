"""charts/otelguard/argocd/health.lua in Lua 5.1, sandboxed like Argo CD (base and table libraries only)."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from chart_helm import CHART
from lupa.lua51 import LuaRuntime

from otelguard.api.v1alpha1 import KINDS
from otelguard.api.v1alpha1.common import StatusBase
from otelguard.api.v1alpha1.conditions import is_ready, ready_summary, set_condition

SCRIPT = (CHART / "argocd" / "health.lua").read_text()
README = (CHART / "argocd" / "README.md").read_text()
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

LUA = LuaRuntime(unpack_returned_tuples=True)
# Argo CD (gopher-lua) opens only the base, package, table and a safe os library for health checks: no string
# or math, so no string methods either. The script runs in an environment with just those functions, and with
# the string metatable's __index removed while it runs.
_RUN = LUA.eval(
    """
function(code, obj)
  local env = {
    obj = obj, assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
    rawequal = rawequal, rawget = rawget, rawset = rawset, select = select, tonumber = tonumber,
    tostring = tostring, type = type, unpack = unpack, table = table, _VERSION = _VERSION,
  }
  local chunk, err = loadstring(code, "=health.lua")
  if chunk == nil then error(err) end
  setfenv(chunk, env)
  local string_mt = getmetatable("")
  local saved = string_mt.__index
  string_mt.__index = nil
  local ok, hs = pcall(chunk)
  string_mt.__index = saved
  if not ok then error(hs) end
  local keys = {}
  for k, _ in pairs(hs) do keys[#keys + 1] = k end
  return hs.status, hs.message, #keys
end
"""
)


def health(obj: dict[str, Any], script: str = SCRIPT) -> tuple[str, str]:
    status, message, nkeys = _RUN(script, LUA.table_from(obj, recursive=True))
    assert status in ARGO_STATUSES, status
    assert isinstance(message, str) and message, (status, message)
    assert nkeys == 2  # only status and message
    return status, message


def condition(
    status: str, generation: int | None, reason: str = "Reconciled", message: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def resource(
    generation: int | None = 2,
    observed: int | None = 2,
    conditions: list[dict[str, Any]] | None = None,
    kind: str = "GuardrailPolicy",
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "x", "namespace": "otelguard"}
    if generation is not None:
        metadata["generation"] = generation
    status: dict[str, Any] = {}
    if observed is not None:
        status["observedGeneration"] = observed
    if conditions is not None:
        status["conditions"] = conditions
    return {
        "apiVersion": "otelguard.io/v1alpha1",
        "kind": kind,
        "metadata": metadata,
        "spec": {},
        "status": status,
    }


@pytest.mark.parametrize("kind", [info.kind for info in KINDS])
def test_healthy_for_every_kind(kind: str) -> None:
    obj = resource(conditions=[condition("True", 2, message="3 rules compiled")], kind=kind)
    assert health(obj) == ("Healthy", "3 rules compiled")


def test_healthy_message_falls_back_to_reason() -> None:
    assert health(resource(conditions=[condition("True", 2)])) == ("Healthy", "Reconciled")


def test_ready_found_among_other_conditions() -> None:
    others = [
        {"type": "Compiled", "status": "True", "reason": "Compiled", "observedGeneration": 2},
        condition("True", 2, message="ok"),
        {"type": "Stored", "status": "False", "reason": "Pending", "observedGeneration": 2},
    ]
    assert health(resource(conditions=others)) == ("Healthy", "ok")


def test_no_status_is_progressing() -> None:
    obj = resource()
    del obj["status"]
    status, message = health(obj)
    assert status == "Progressing"
    assert "Waiting for the operator" in message


def test_empty_status_is_progressing() -> None:
    assert health(resource(observed=None))[0] == "Progressing"


def test_status_for_an_older_generation_is_progressing() -> None:
    # The operator has not seen the new spec yet: an old Ready=True is not trusted ...
    status, message = health(resource(generation=3, observed=2, conditions=[condition("True", 2)]))
    assert status == "Progressing"
    assert message == "Waiting for the operator to reconcile generation 3 (last reconciled: 2)"
    # ... and neither is an old Ready=False.
    stale_failure = resource(
        generation=3, observed=2, conditions=[condition("False", 2, "InvalidSpec", "bad")]
    )
    assert health(stale_failure)[0] == "Progressing"


def test_ready_condition_for_an_older_generation_is_progressing() -> None:
    status, message = health(resource(generation=3, observed=3, conditions=[condition("True", 2)]))
    assert (status, message) == ("Progressing", "Waiting for the Ready condition of generation 3")
    assert health(resource(conditions=[condition("True", None)]))[0] == "Progressing"


def test_missing_conditions_are_progressing() -> None:
    assert health(resource(conditions=None)) == ("Progressing", "Waiting for the Ready condition")
    assert health(resource(conditions=[])) == ("Progressing", "Waiting for the Ready condition")
    other = [{"type": "Reconciling", "status": "True", "reason": "Started", "observedGeneration": 2}]
    assert health(resource(conditions=other)) == ("Progressing", "Waiting for the Ready condition")


def test_unknown_is_progressing_with_the_condition_message() -> None:
    obj = resource(conditions=[condition("Unknown", 2, "Reconciling", "waiting for Postgres migrations")])
    assert health(obj) == ("Progressing", "waiting for Postgres migrations")
    assert health(resource(conditions=[condition("Unknown", 2, "Reconciling")])) == (
        "Progressing",
        "Reconciling",
    )


def test_false_is_degraded_with_the_condition_message() -> None:
    message = "secret otelguard/otelguard-postgres has no key dsn"
    obj = resource(conditions=[condition("False", 2, "SecretNotFound", message)])
    assert health(obj) == ("Degraded", message)
    assert health(resource(conditions=[condition("False", 2, "InvalidSpec")])) == ("Degraded", "InvalidSpec")


def test_suspended() -> None:
    obj = resource(conditions=[condition("False", 2, "Suspended", "spec.suspend is true")])
    assert health(obj) == ("Suspended", "spec.suspend is true")
    assert health(resource(conditions=[condition("True", 2, "Suspended")])) == ("Suspended", "Suspended")
    # A suspension recorded for an older generation is not trusted either.
    assert health(resource(generation=3, observed=3, conditions=[condition("False", 2, "Suspended")]))[0] == (
        "Progressing"
    )


def test_no_generation_in_metadata_trusts_the_condition() -> None:
    assert health(resource(generation=None, conditions=[condition("True", 1)]))[0] == "Healthy"


def test_agrees_with_is_ready_on_statuses_built_by_the_condition_helpers() -> None:
    """The script and ``conditions.is_ready`` (what the operator and tests use) agree on real statuses."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    cases = []
    for dep_status in ("True", "False", "Unknown"):
        for cond_gen, obj_gen in ((1, 1), (1, 2), (2, 2)):
            conds = set_condition([], "Compiled", dep_status, "Compiled", "m", cond_gen, now)
            conds = ready_summary(conds, ["Compiled"], cond_gen, now)
            cases.append((conds, cond_gen, obj_gen))
    for conds, cond_gen, obj_gen in cases:
        status = StatusBase(observed_generation=cond_gen, conditions=conds).model_dump(
            mode="json", exclude_none=True
        )
        obj = resource(generation=obj_gen)
        obj["status"] = status
        got, _ = health(obj)
        assert (got == "Healthy") == is_ready(conds, obj_gen), (status, obj_gen, got)
        if cond_gen == obj_gen and conds[-1].status == "False":
            assert got == "Degraded"


def test_script_uses_no_string_library() -> None:
    # A script calling string functions fails in the sandbox, as it would in Argo CD.
    with pytest.raises(Exception, match="string"):
        health(resource(), script='local hs = {}\nhs.status = string.upper("healthy")\nreturn hs\n')
    with pytest.raises(Exception, match="attempt to index a string value"):
        health(resource(), script='local hs = {}\nhs.status = ("Healthy"):len()\nreturn hs\n')


def test_does_not_modify_the_object() -> None:
    obj = resource(conditions=[condition("True", 2)])
    before = copy.deepcopy(obj)
    health(obj)
    assert obj == before


def test_readme_configures_every_kind_with_this_script() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README, flags=re.DOTALL)
    configmaps = [yaml.safe_load(b) for b in blocks if "kind: ConfigMap" in b]
    assert len(configmaps) == 1
    cm = configmaps[0]
    assert cm["metadata"] == {
        "name": "argocd-cm",
        "namespace": "argocd",
        "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"},
    }
    expected = {f"resource.customizations.health.otelguard.io_{info.kind}" for info in KINDS}
    assert set(cm["data"]) == expected
    for key in expected:
        assert cm["data"][key] == SCRIPT, key
