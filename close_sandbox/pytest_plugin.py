"""pytest fixtures. Load with `pytest_plugins = ["close_sandbox.pytest_plugin"]`
in the top-level conftest.py.

  sandbox_factory(**kwargs)        -> a started Sandbox(**kwargs); all stopped at the test's end
  module_sandbox_factory(**kwargs) -> the same, shared by a module's tests (stopped at its end)
  sandbox                          -> a small default organization (seed 1, 60 leads)
"""
import contextlib

import pytest

from .sandbox import Sandbox


@contextlib.contextmanager
def _factory():
    created = []

    def make(**kwargs):
        sb = Sandbox(**kwargs).start()
        created.append(sb)
        return sb

    try:
        yield make
    finally:
        for sb in created:
            sb.stop()


@pytest.fixture
def sandbox_factory():
    with _factory() as make:
        yield make


@pytest.fixture(scope="module")
def module_sandbox_factory():
    with _factory() as make:
        yield make


@pytest.fixture
def sandbox(sandbox_factory):
    return sandbox_factory(seed=1, leads=60)
