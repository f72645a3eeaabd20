"""Fixtures for e2e tests against the real test cluster (tests/e2e/cluster/).

The cluster binaries are built once per session right after collection, outside any test's timeout
(a cold build compiles kube-apiserver: ~20 minutes on 2 cores; a warm one returns at once). A failed
build makes the ``kube_cluster`` fixture fail, never skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kube_cluster import BUILD_LOG, ClusterError, TestCluster, build

_BUILD_ERROR = pytest.StashKey[str | None]()


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly or not any(
        "kube_cluster" in getattr(item, "fixturenames", ()) for item in session.items
    ):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"e2e: building the test cluster if needed (log: {BUILD_LOG})")
    try:
        build()
        config.stash[_BUILD_ERROR] = None
    except ClusterError as exc:
        config.stash[_BUILD_ERROR] = str(exc)


@pytest.fixture(scope="session")
def kube_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestCluster]:
    """A running cluster shared by the session; kubeconfig at ``kube_cluster.kubeconfig``."""
    error = request.config.stash.get(_BUILD_ERROR, None)
    if error is not None:
        pytest.fail(f"test cluster build failed:\n{error}", pytrace=False)
    cluster = TestCluster()
    try:
        cluster.start(tmp_path_factory.mktemp("kube-cluster"))
    except ClusterError as exc:
        pytest.fail(f"test cluster did not start:\n{exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()
