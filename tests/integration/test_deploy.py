"""Deploys that refuse no connection (SPEC.md section 8, issue 10), with the
real web app: gunicorn -w 4 + a Flask app served through a socket superd
holds (`socket=`), under wrk -t2 -c20 --timeout 10s.

- `superctl restart web` and `superctl reload web` each give zero socket
  errors and zero non-2xx answers;
- after the app's code is edited, `superctl reload web` (reload_signal=HUP:
  gunicorn replaces its workers) serves the new answer, and the master's
  pid does not change;
- the same restart with gunicorn binding the port itself (`--bind`) does
  lose connections: the test proves the mechanism, not luck.

Skips when gunicorn, Flask or wrk is missing.
"""

import http.client
import os
import re
import shutil
import subprocess
import time
import urllib.request

import harness
from harness import check, skip, wait_until, free_port

GUNICORN = shutil.which("gunicorn") or "/usr/bin/gunicorn"
WRK = shutil.which("wrk")

APP = '''
from flask import Flask
app = Flask(__name__)
VERSION = "%s"

@app.route("/")
def index():
    return "version " + VERSION + "\\n"

@app.route("/healthz")
def healthz():
    return "ok\\n"
'''


def require_tools():
    if not os.access(GUNICORN, os.X_OK):
        skip("gunicorn is not installed")
    if not WRK:
        skip("wrk is not installed")
    if subprocess.run(["python3", "-c", "import flask"], capture_output=True).returncode:
        skip("python3-flask is not installed")


def get(port, path="/"):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as r:
            return r.status, r.read().decode()
    except (OSError, http.client.HTTPException) as e:
        # a restart may cut an answer mid-way
        return None, str(e)


def web(sb, port, held, version="v1"):
    """Write the app and its [program:web]; held: socket= or --bind."""
    appdir = sb.path("app")
    os.makedirs(appdir, exist_ok=True)
    with open(os.path.join(appdir, "app.py"), "w") as f:
        f.write(APP % version)
    cmd = "%s --workers 4 --graceful-timeout 5 app:app" % GUNICORN
    keys = dict(directory=appdir, startsecs=0, stopwaitsecs=10, stopasgroup="true",
                killasgroup="true", autorestart="true", environment='PYTHONUNBUFFERED="1"')
    if held:
        keys.update(socket="tcp://127.0.0.1:%d" % port, reload_signal="HUP",
                    ready="http://127.0.0.1:%d/healthz" % port, ready_timeout=30)
    else:
        cmd += " --bind 127.0.0.1:%d" % port
        keys.update(startsecs=1)
    return harness.program("web", cmd, **keys)


def start(sb, held):
    require_tools()
    port = free_port()
    sb.config(web(sb, port, held))
    sb.start()
    sb.wait_running("web", timeout=30)
    wait_until(lambda: get(port)[0] == 200, 30, "the app to answer")
    return port


class Wrk:
    def __init__(self, port, seconds):
        self.proc = subprocess.Popen(
            [WRK, "-t2", "-c20", "-d%ds" % seconds, "--timeout", "10s",
             "http://127.0.0.1:%d/" % port],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.seconds = seconds

    def result(self):
        out, _ = self.proc.communicate(timeout=self.seconds + 30)
        m = re.search(r"(\d+) requests in", out)
        check(m is not None, "wrk output not understood: %s" % out)
        errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return {"requests": int(m.group(1)),
                "errors": sum(int(x) for x in errs.groups()) if errs else 0,
                "non2xx": int(non2xx.group(1)) if non2xx else 0,
                "text": out}


def under_load(sb, port, action, seconds=6):
    """Run `action` while wrk loads the app; wrk's result."""
    load = Wrk(port, seconds)
    sb.helpers.append(load.proc)
    time.sleep(1)  # wrk has no readiness signal: let it reach steady load
    action()
    return load.result()


def test_restart_with_held_socket_refuses_nothing(sb):
    port = start(sb, held=True)
    old = sb.proc("web")["pid"]
    r = under_load(sb, port, lambda: check(sb.ctl("restart", "web", timeout=60).returncode == 0,
                                           "restart failed"))
    print("  restart, socket=: %d requests, %d socket errors, %d non-2xx"
          % (r["requests"], r["errors"], r["non2xx"]))
    check(sb.proc("web")["pid"] != old, "web was not restarted")
    check(r["errors"] == 0 and r["non2xx"] == 0, "connections lost:\n%s" % r["text"])


def test_reload_serves_new_code_without_errors(sb):
    port = start(sb, held=True)
    master = sb.proc("web")["pid"]
    check(get(port)[1].strip() == "version v1", "first answer: %r" % (get(port),))
    web(sb, port, True, version="v2")  # the deploy: new code on disk

    def reload():
        r = sb.ctl("reload", "web", timeout=60)
        check(r.returncode == 0, "reload: %d %s%s" % (r.returncode, r.stdout, r.stderr))
    r = under_load(sb, port, reload)
    wait_until(lambda: get(port)[1].strip() == "version v2", 20, "the new code to be served")
    print("  reload, HUP: %d requests, %d socket errors, %d non-2xx"
          % (r["requests"], r["errors"], r["non2xx"]))
    check(sb.proc("web")["pid"] == master, "reload replaced the master")
    check(r["errors"] == 0 and r["non2xx"] == 0, "connections lost:\n%s" % r["text"])


def test_restart_with_bind_loses_connections(sb):
    # The control experiment: gunicorn binds the port itself.
    port = start(sb, held=False)
    r = under_load(sb, port, lambda: sb.ctl("restart", "web", timeout=60))
    print("  restart, --bind: %d requests, %d socket errors, %d non-2xx"
          % (r["requests"], r["errors"], r["non2xx"]))
    check(r["errors"] > 0, "no error without a held socket: the test proves nothing")


if __name__ == "__main__":
    harness.main(globals())
