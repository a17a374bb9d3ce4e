#!/usr/bin/env python3
"""Connections lost while the web app restarts, side by side, one run.

    python3 tests/bench/bench_deploy.py [--bin build/bin] [--seconds 8]

The same gunicorn -w 4 + Flask app under `wrk -t2 -c20 --timeout 10s`,
while the supervisor restarts it once:
  supervisord   gunicorn --bind, `supervisorctl restart web`
  superd bind   gunicorn --bind, `superctl restart web`
  superd held   socket= held by superd, `superctl restart web`
  superd reload socket= + reload_signal=HUP, `superctl reload web`
Prints, for each, the requests served, socket errors, non-2xx answers and
wrk's p99 latency, and the error ratio against supervisord. Not part of
the pass/fail suite.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

APP = '''from flask import Flask
app = Flask(__name__)

@app.route("/")
def index():
    return "hello\\n"
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def poll(fn, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(interval)
    raise RuntimeError("timed out")


def answers(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def conf_text(root, sock, port, mode, gunicorn):
    cmd = "%s --workers 4 --graceful-timeout 5 app:app" % gunicorn
    extra = ""
    if mode in ("held", "reload"):
        extra = ("socket = tcp://127.0.0.1:%d\nreload_signal = HUP\n"
                 "ready = http://127.0.0.1:%d/\n" % (port, port))
    else:
        cmd += " --bind 127.0.0.1:%d" % port
    return ("[supervisord]\nchildlogdir = {root}\nlogfile = {root}/d.log\n"
            "pidfile = {root}/d.pid\n\n"
            "[unix_http_server]\nfile = {sock}\n\n"
            "[supervisorctl]\nserverurl = unix://{sock}\n\n"
            "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface\n\n"
            "[program:web]\ncommand = {cmd}\ndirectory = {root}\n"
            "startsecs = 1\nstopwaitsecs = 10\nstopasgroup = true\n"
            "killasgroup = true\nautorestart = true\n{extra}").format(
                root=root, sock=sock, cmd=cmd, extra=extra)


def run_case(label, daemon, ctl, mode, args, bindir, seconds):
    root = tempfile.mkdtemp(prefix="bench-deploy-")
    with open(os.path.join(root, "app.py"), "w") as f:
        f.write(APP)
    sock = os.path.join(root, "s.sock")
    port = free_port()
    conf = os.path.join(root, "d.conf")
    with open(conf, "w") as f:
        f.write(conf_text(root, sock, port, mode, shutil.which("gunicorn")))
    proc = subprocess.Popen(daemon + ["-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=root, start_new_session=True)
    try:
        poll(lambda: answers(port), 30)
        wrk = subprocess.Popen(["wrk", "-t2", "-c20", "-d%ds" % seconds, "--timeout", "10s",
                                "--latency", "http://127.0.0.1:%d/" % port],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(seconds / 4)  # steady load before the restart
        subprocess.run(ctl + ["-c", conf] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        out, _ = wrk.communicate(timeout=seconds + 30)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    return {"label": label, "requests": reqs,
            "errors": sum(int(x) for x in errs.groups()) if errs else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "p99": p99.group(1) if p99 else "?"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--seconds", type=int, default=8)
    a = ap.parse_args()
    for tool in ("gunicorn", "wrk", "supervisord"):
        if not shutil.which(tool):
            sys.exit("%s is not installed" % tool)
    bindir = os.path.abspath(a.bin)
    superd = [os.path.join(bindir, "superd")]
    superctl = [os.path.join(bindir, "superctl")]
    cases = [
        ("supervisord, --bind, restart", ["supervisord", "-n"], ["supervisorctl"], "bind",
         ["restart", "web"]),
        ("superd, --bind, restart", superd, superctl, "bind", ["restart", "web"]),
        ("superd, socket=, restart", superd, superctl, "held", ["restart", "web"]),
        ("superd, socket=, reload", superd, superctl, "reload", ["reload", "web"]),
    ]
    results = [run_case(label, d, c, m, args, bindir, a.seconds)
               for label, d, c, m, args in cases]
    base = max(results[0]["errors"] + results[0]["non2xx"], 1)
    print("%-30s %9s %9s %8s %8s %10s" % ("case", "requests", "errors", "non-2xx", "p99",
                                           "lost/sv'd"))
    for r in results:
        print("%-30s %9d %9d %8d %8s %10.3f" % (r["label"], r["requests"], r["errors"],
                                                 r["non2xx"], r["p99"],
                                                 (r["errors"] + r["non2xx"]) / base))


if __name__ == "__main__":
    main()
