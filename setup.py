from setuptools import setup

setup(
    name="tap-close",
    version="0.1.0",
    description="Singer tap for the Close CRM API (close.com)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    # An SPDX expression (PEP 639), which setuptools >= 77 takes in place of the license
    # classifier it now warns about; pip builds with the newest setuptools.
    license_expression="MIT",
    python_requires=">=3.11",
    packages=["tap_close", "tap_close.streams"],
    package_data={"tap_close": ["schemas/*.json"]},
    install_requires=[
        # singer-python is pinned exactly: its metric format and helpers change between
        # minor releases (tap_close/metrics.py writes its METRIC lines).
        "singer-python==6.8.0",
        # The HTTP client (tap_close/client.py), pinned as requests 2.32 pins it.
        "urllib3>=1.21.1,<3",
        # The CA bundle when no variable names one: requests' default, pinned as requests pins it.
        "certifi>=2017.4.17",
        # Reads proxies and a CA bundle from the environment (connections.environment_settings).
        "requests>=2.32.2,<3",
        "backoff>=2.2,<3",
        "pendulum>=3.0,<4",
        # Parsing pages and writing records is most of the tap's CPU; orjson does both
        # several times faster than the json module (see bench/ and the README).
        "orjson>=3.9,<4",
    ],
    extras_require={
        "dev": [
            "pytest>=8",
            "jsonschema==2.6.0",
            # PostgreSQL 16 as a wheel, for the target-postgres test (tests/postgres.py): no
            # system package, no root. Its wheels exist for CPython 3.11/3.12 on x86-64 Linux
            # and on macOS only, and it has no sdist; elsewhere the test uses a PostgreSQL on PATH.
            "pgserver==0.1.4; python_version < '3.13' and (sys_platform == 'darwin'"
            " or (sys_platform == 'linux' and platform_machine == 'x86_64'))",
        ],
    },
    entry_points={"console_scripts": ["tap-close=tap_close.cli:console"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
    ],
)
