pytest_plugins = ["close_sandbox.pytest_plugin"]
