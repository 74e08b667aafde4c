"""Fixtures for the sandbox contract tests (tests/conftest.py loads the sandbox plugin:
sandbox, sandbox_factory)."""
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
for path in (HERE.parents[1], HERE):   # repo root (close_sandbox) and sandbox_helpers
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from close_sandbox import Sandbox  # noqa: E402

from sandbox_helpers import NOW, Api  # noqa: E402


@pytest.fixture(scope="session")
def ro_sandbox():
    """A shared, read-only organization on a frozen clock (tests must not mutate it)."""
    sb = Sandbox(seed=3, leads=120, users=6, activities_per_lead=4, tasks_per_lead=3, events=400,
                 minute_cluster=7, day_cluster=9, now=NOW).start()
    yield sb
    sb.stop()


@pytest.fixture
def api(ro_sandbox):
    return Api(ro_sandbox)


@pytest.fixture
def fresh(sandbox_factory):
    """A small mutable organization on a frozen clock."""
    sb = sandbox_factory(seed=5, leads=30, activities_per_lead=3, tasks_per_lead=2, events=120, now=NOW)
    return sb, Api(sb)
