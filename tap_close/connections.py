"""The connections to Close: a urllib3 pool manager set up as requests sets up a Session's, so
that the tap behaves behind a proxy or with a private CA as any requests-based tool does.

urllib3 is the HTTP client (tap_close/client.py: requests' per-request work cost about 1 ms of
CPU a request, issue #15); requests' own public functions still read the environment, so
proxies, NO_PROXY and the CA bundle follow requests' rules."""

from __future__ import annotations

import os
import sys
from urllib.parse import unquote, urlsplit

import requests
import urllib3

# Where requests finds a CA bundle, in this order (requests/sessions.py,
# merge_environment_settings), and where it finds proxies: every `*_proxy` variable (NO_PROXY
# among them) and, on macOS and Windows, the system's settings (urllib.request.getproxies).
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
SYSTEM_PROXY_PLATFORMS = ("darwin", "win32")


def environment_settings(base_url: str) -> tuple[str | None, str | None]:
    """The proxy URL and the CA bundle for `base_url`, as requests works them out for a
    Session: the first of REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE that is set (None: requests'
    default, certifi's); HTTP(S)_PROXY, ALL_PROXY and NO_PROXY through requests' own public
    `Session.merge_environment_settings` and `utils.select_proxy`, asked only when a proxy
    variable is set or the platform has system proxy settings."""
    bundle = next((os.environ[name] for name in CA_BUNDLE_VARIABLES if os.environ.get(name)), None)
    if sys.platform not in SYSTEM_PROXY_PLATFORMS and not any(name.lower().endswith("_proxy") for name in os.environ):
        return None, bundle
    environment = requests.Session().merge_environment_settings(base_url, {}, None, None, None)
    proxy = requests.utils.select_proxy(base_url, environment["proxies"])
    return requests.utils.prepend_scheme_if_needed(proxy, "http") if proxy else None, bundle


def pool_manager(base_url: str, pool_size: int, timeout: float) -> urllib3.PoolManager:
    """A urllib3 pool manager for Close's host, set up as requests' HTTPAdapter sets up a
    Session's: the environment's proxy and CA bundle, credentials in a proxy's URL sent as
    Proxy-Authorization, and urllib3's own retries off (retries are ours). Redirects are not
    followed, as before (requests was called with allow_redirects=False)."""
    proxy, bundle = environment_settings(base_url)
    settings = {"num_pools": 1, "maxsize": pool_size, "block": False, "retries": False,
                "timeout": urllib3.Timeout(connect=timeout, read=timeout)}
    if base_url.startswith("https:"):
        if bundle is None:
            import certifi    # requests' default bundle (requests.certs.where)
            bundle = certifi.where()
        settings["cert_reqs"] = "CERT_REQUIRED"
        settings["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
    if proxy is None:
        return urllib3.PoolManager(**settings)
    # As requests' get_auth_from_url: the URL's user and password, percent-decoded.
    parts = urlsplit(proxy)
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager   # needs PySocks, as with requests
        return SOCKSProxyManager(proxy, username=username or None, password=password or None, **settings)
    headers = None
    if username:
        basic = urllib3.util.make_headers(proxy_basic_auth=f"{username}:{password}")["proxy-authorization"]
        headers = {"Proxy-Authorization": basic}
    return urllib3.ProxyManager(proxy, proxy_headers=headers, **settings)
