"""``otelguard worker``: a Celery worker consuming the eval queue.

Secrets named by Evaluators (the judge's API key) are resolved by the caller's ``SecretResolver``:
in a cluster from the Kubernetes API, locally from the manifests directory, and in both cases from
the environment first (``OTELGUARD_SECRET_<NAMESPACE>_<NAME>_<KEY>``, upper-cased, non-alphanumerics
as ``_``), which is also how a Deployment can inject one without API access.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence

import redis
from celery.exceptions import SecurityWarning

from otelguard.api.v1alpha1.common import secret_env_name
from otelguard.evals.app import EVAL_QUEUE, create_celery
from otelguard.evals.tasks import EvalRuntime, SecretResolver, register_tasks

__all__ = ["chain_resolvers", "env_secret_resolver", "run_worker", "secret_env_name"]


def env_secret_resolver(env: Mapping[str, str] | None = None) -> SecretResolver:
    source = os.environ if env is None else env

    def resolve(namespace: str, name: str, key: str) -> str | None:
        return source.get(secret_env_name(namespace, name, key))

    return resolve


def chain_resolvers(*resolvers: SecretResolver) -> SecretResolver:
    def resolve(namespace: str, name: str, key: str) -> str | None:
        for r in resolvers:
            found = r(namespace, name, key)
            if found is not None:
                return found
        return None

    return resolve


def run_worker(
    redis_url: str,
    secrets: SecretResolver,
    *,
    concurrency: int = 4,
    pool: str = "threads",
    extra_args: Sequence[str] = (),
) -> None:
    """Block consuming the eval queue until SIGTERM/SIGINT (Celery's warm shutdown finishes running
    tasks; unacknowledged ones go back to the queue)."""
    # Celery warns when run as root; the worker runs no user code and reads no pickles (JSON only).
    warnings.filterwarnings("ignore", category=SecurityWarning)
    app = create_celery(redis_url)
    runtime: list[EvalRuntime] = []

    def get_runtime() -> EvalRuntime:
        if not runtime:  # created in the process that runs tasks (after a prefork fork)
            runtime.append(EvalRuntime(redis.Redis.from_url(redis_url), secrets))
        return runtime[0]

    register_tasks(app, get_runtime)
    argv = [
        "--quiet",  # no banner: `otelguard up` prints its own summary
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--queues={EVAL_QUEUE}",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        *extra_args,
    ]
    try:
        app.worker_main(argv)
    finally:
        if runtime:
            runtime[0].close()
