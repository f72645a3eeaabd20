"""The Celery application of the eval workers (Redis broker, JSON messages, no result backend).

Tasks are acknowledged late and re-queued when a worker dies, so an evaluation is never lost with its
worker; the done marks in Redis (``stats.undone``) make the redelivery score each span once.
"""

from __future__ import annotations

from celery import Celery

__all__ = ["EVALUATE_TASK", "EVAL_QUEUE", "create_celery"]

EVAL_QUEUE = "otelguard-evals"
EVALUATE_TASK = "otelguard.evaluate"


def create_celery(redis_url: str) -> Celery:
    app = Celery("otelguard", broker=redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_default_queue=EVAL_QUEUE,
        task_routes={EVALUATE_TASK: {"queue": EVAL_QUEUE}},
        worker_prefetch_multiplier=4,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        # A task's retry waits in the worker (countdown); the visibility timeout must outlast the longest one.
        broker_transport_options={"visibility_timeout": 3600},
        enable_utc=True,
    )
    return app
