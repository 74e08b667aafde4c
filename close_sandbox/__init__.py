"""close_sandbox: a local simulator of the Close CRM REST API for tests.

    from close_sandbox import Sandbox
    with Sandbox(api_key="test-key", seed=1, leads=100) as sb:
        requests.get(sb.url + "/lead/", auth=("test-key", ""))
"""
from .sandbox import Sandbox

__all__ = ["Sandbox"]
