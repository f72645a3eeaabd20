"""Evaluator spec definitions shared by the eval runtime (``evals``) and the Evaluator controller.

Pure: no network, no secrets, no store. The heuristic params models and compile steps, the built-in
judge templates, the validator binding and the categorical score mapping live here, below both users
(import-linter keeps ``controllers`` and ``evals`` apart), so what the controller accepts at reconcile
is what the workers can build. ``evaluator_spec_problems`` is that check.
"""

from otelguard.evalspec.errors import SpecError
from otelguard.evalspec.judge_templates import BUILTIN_TEMPLATES, JUDGE_VARIABLES, JudgeTemplate, get_template
from otelguard.evalspec.problems import evaluator_spec_problems

__all__ = [
    "BUILTIN_TEMPLATES",
    "JUDGE_VARIABLES",
    "JudgeTemplate",
    "SpecError",
    "evaluator_spec_problems",
    "get_template",
]
