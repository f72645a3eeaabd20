"""The controller of each kind, by kind name."""

from __future__ import annotations

from otelguard.controllers import alert_rule, dashboard, evaluator, guardrail_policy, installation, prompt
from otelguard.controllers.base import Controller

CONTROLLERS: dict[str, Controller] = {
    module.KIND: Controller(module.KIND, module.plan, module.status)
    for module in (installation, guardrail_policy, prompt, evaluator, dashboard, alert_rule)
}
