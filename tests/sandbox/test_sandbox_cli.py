import base64
import os
import re
import selectors
import signal
import subprocess
import sys

import requests

from sandbox_helpers import NAIVE_RE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _start(*args):
    proc = subprocess.Popen([sys.executable, "-m", "close_sandbox", "--port", "0", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    assert sel.select(timeout=30), "no listening line within 30 s"
    line = proc.stdout.readline()
    m = re.match(r"^close-sandbox listening on (http://127\.0\.0\.1:(\d+)/api/v1)\n$", line)
    assert m, line
    return proc, m.group(1)


def test_cli_serves_and_exits_cleanly_on_sigterm():
    proc, url = _start("--seed", "1", "--leads", "20", "--api-key", "cli-key-987", "--events", "40")
    try:
        r = requests.get(url + "/me/", auth=("cli-key-987", ""), timeout=10)
        assert r.status_code == 200 and r.json()["id"].startswith("user_")
        assert requests.get(url + "/me/", auth=("other", ""), timeout=10).status_code == 401
        ev = requests.get(url + "/event/", auth=("cli-key-987", ""), timeout=10).json()["data"]
        assert ev and re.match(NAIVE_RE, ev[0]["date_updated"])
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "GET /me/ 200" in err and "GET /me/ 401" in err
    assert "cli-key-987" not in err + out
    assert base64.b64encode(b"cli-key-987:").decode() not in err


def test_cli_fault_flags():
    proc, url = _start("--leads", "5", "--fail-every", "2", "--fail-status", "503", "--rate", "100",
                       "--burst", "7", "--quiet")
    try:
        codes = [requests.get(url + "/user/", auth=("test-key", ""), timeout=10) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 503, 200, 503]
        assert codes[0].headers["RateLimit"].startswith("limit=7, ")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0 and err == ""
