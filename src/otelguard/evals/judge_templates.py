"""Built-in LLM-judge templates, re-exported for the eval runtime.

They are defined in ``otelguard.evalspec.judge_templates`` (see the table there), below both this
package and the Evaluator controller, which checks ``builtinTemplate`` names against the same table.
"""

from __future__ import annotations

from otelguard.evalspec.judge_templates import BUILTIN_TEMPLATES, JudgeTemplate, get_template

__all__ = ["BUILTIN_TEMPLATES", "JudgeTemplate", "get_template"]
