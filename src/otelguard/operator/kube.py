"""The operator's Kubernetes client: server-side apply of children, reads, status writes — and a count of
every write, because a quiet steady state (0 writes on resync) is a property we test and benchmark."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

FIELD_MANAGER = "otelguard"
APPLIED_HASH = "otelguard.io/applied-hash"

Json = dict[str, Any]


# kind → (API group client attribute, method suffix); an unknown kind is a programming error.
CHILD_KINDS: dict[str, tuple[str, str]] = {
    "ServiceAccount": ("core", "namespaced_service_account"),
    "ConfigMap": ("core", "namespaced_config_map"),
    "Service": ("core", "namespaced_service"),
    "Deployment": ("apps", "namespaced_deployment"),
    "StatefulSet": ("apps", "namespaced_stateful_set"),
}


class KubeApi:
    def __init__(self, api_client: client.ApiClient | None = None) -> None:
        if api_client is None:
            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
            except config.ConfigException:
                config.load_kube_config()  # type: ignore[no-untyped-call]
            api_client = client.ApiClient()
        self.api = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self._lock = threading.Lock()
        self.writes = 0

    def _count_write(self) -> None:
        with self._lock:
            self.writes += 1

    def _method(self, kind: str, verb: str) -> Any:
        group, suffix = CHILD_KINDS[kind]
        return getattr(getattr(self, group), f"{verb}_{suffix}")

    # -- children ---------------------------------------------------------------------------------------
    def get(self, kind: str, namespace: str, name: str) -> Json | None:
        try:
            obj = self._method(kind, "read")(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        data = self.api.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
        return dict(data) if isinstance(data, Mapping) else None

    def list_children(self, kind: str, namespace: str, label_selector: str) -> list[Json]:
        """Objects of ``kind`` in ``namespace`` matching the selector, with ``kind`` filled in (list items
        carry none)."""
        result = self._method(kind, "list")(namespace, label_selector=label_selector)
        items = self.api.sanitize_for_serialization(result.items)  # type: ignore[no-untyped-call]
        return [{**item, "kind": kind} for item in items or []]

    def delete(self, kind: str, namespace: str, name: str, uid: str) -> bool:
        """Delete the object if it is still the one with ``uid`` (a precondition: a namesake made since the
        list is left alone). True if deleted; False if it is gone already or was replaced."""
        self._count_write()
        options = client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid=uid), propagation_policy="Background"
        )
        try:
            self._method(kind, "delete")(name, namespace, body=options)
        except ApiException as exc:
            if exc.status in (404, 409):
                return False
            raise
        return True

    def apply(self, obj: Mapping[str, Any], digest: str) -> bool:
        """Server-side apply ``obj`` unless the live object already carries ``digest``. True if written.

        The digest annotation makes a resync a read instead of a write: an SSA patch that changes
        nothing is still a request the API server has to process and audit.
        """
        meta = obj["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        live = self.get(obj["kind"], namespace, name)
        if (
            live is not None
            and (live.get("metadata") or {}).get("annotations", {}).get(APPLIED_HASH) == digest
        ):
            return False
        body = json.loads(json.dumps(obj))
        body["metadata"].setdefault("annotations", {})[APPLIED_HASH] = digest
        self._count_write()
        self._method(obj["kind"], "patch")(
            name,
            namespace,
            body,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
        )
        return True

    def read_secret(self, namespace: str, name: str, key: str) -> str | None:
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status in (403, 404):
                return None
            raise
        raw = dict(secret.data or {}).get(key)
        return base64.b64decode(raw).decode() if raw is not None else None

    def list_custom(self, plural: str, namespace: str) -> list[Json]:
        result: Any = self.custom.list_namespaced_custom_object("otelguard.io", "v1alpha1", namespace, plural)
        return list(result.get("items", []))
