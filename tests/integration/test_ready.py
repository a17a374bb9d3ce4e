"""Readiness (SPEC.md section 9, issue 10): with `ready=`, RUNNING means
the check passed. A program that listens only after 2 s stays STARTING
until then, for each kind of check; not ready within ready_timeout is a
failed start (BACKOFF, then FATAL); READY=1 datagrams after the first
change nothing. State changes are watched through events.subscribe."""

import os
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, program, read_text, wait_until, holds_for, free_port  # noqa: E402

PY = sys.executable


class Watch:
    """process.state notifications of one program, stamped on arrival."""

    def __init__(self, sb, name):
        self.client = sb.rpc()
        self.client.call("events.subscribe")
        self.name = name
        self.seen = []

    def until(self, to, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.seen:
                if ev["to"] == to:
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise harness.Failure("%s never reached %s: %s" % (
                    self.name, to, [(e["from"], e["to"]) for e in self.seen]))
            try:
                n = self.client.notification("process.state", left)
            except harness.Failure:
                continue
            p = n["params"]
            if p["name"] == self.name:
                p["t"] = time.monotonic()
                self.seen.append(p)

    def path(self):
        return [e["to"] for e in self.seen]


# A server that binds only after DELAY seconds (argv: kind port delay [path]).
LATE_SERVER = r'''
import http.server, os, socket, sys, time
kind, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(delay)
if kind == "tcp":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.close()
elif kind == "http":
    code = int(sys.argv[4])
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(code if self.path == "/ready" else 404)
            self.end_headers()
        def log_message(self, *a):
            pass
    http.server.HTTPServer.allow_reuse_address = True
    http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
elif kind == "file":
    open(sys.argv[4], "w").close()
    time.sleep(1000)
'''


def late(sb, kind, port, delay, extra=""):
    script = sb.write("late.py", LATE_SERVER)
    return "%s %s %s %d %s %s" % (PY, script, kind, port, delay, extra)


def _stays_starting_then_running(sb, ready, command, delay=2.0):
    sb.config(program("app", command, ready=ready, ready_timeout=20, startsecs=None))
    sb.start()
    w = Watch(sb, "app")
    # Started by autostart before we subscribed: STARTING is seen by state.
    t0 = time.monotonic()
    check(sb.proc("app")["state"] == "STARTING", "not STARTING at first: %s" % sb.proc("app"))
    check(holds_for(lambda: sb.proc("app")["state"] == "STARTING", delay - 0.7),
          "left STARTING before the check could pass: %s" % sb.proc("app")["state"])
    ev = w.until("RUNNING", 15)
    check(ev["t"] - t0 >= delay - 0.9, "RUNNING after %.2fs, before the program was ready"
          % (ev["t"] - t0))
    check(w.path() == ["RUNNING"], "path %s" % w.path())
    return ev


def test_ready_tcp(sb):
    port = free_port()
    _stays_starting_then_running(sb, "tcp://127.0.0.1:%d" % port, late(sb, "tcp", port, 2))


def test_ready_http(sb):
    port = free_port()
    _stays_starting_then_running(sb, "http://127.0.0.1:%d/ready" % port,
                                 late(sb, "http", port, 2, "200"))


def test_ready_exec(sb):
    flag = sb.path("up.flag")
    _stays_starting_then_running(sb, "exec:test -e %s" % flag,
                                 late(sb, "file", 0, 2, flag))


def test_ready_exec_runs_as_the_program(sb):
    """An exec: check runs as the program's user= in its directory=, not
    as root: a check is part of the program."""
    if os.geteuid() != 0:
        harness.skip("needs root to switch to nobody")
    sb.config(program("app", "sleep 1000", user="nobody", directory="/",
                      ready='exec:/bin/sh -c "test $(id -un) = nobody && '
                            'test $(pwd) = /"',
                      ready_timeout=5, startretries=0, startsecs=None))
    sb.start()
    p, seen = sb.wait_state("app", "RUNNING", timeout=10)
    check("FATAL" not in seen, "the check did not run as nobody in /: %s" % seen)


def test_ready_by_host_name(sb):
    """A check against a name: resolved in the loop from /etc/hosts (here
    a private one, bind-mounted in a mount namespace of superd's own),
    and superd goes on answering while a name nobody has fails."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        harness.skip("needs root and unshare for a private /etc/hosts")
    hosts = sb.write("hosts", "127.0.0.1 localhost\n127.0.0.1 app.superd.test\n")
    port = free_port()
    sb.config(program("app", late(sb, "http", port, 0, "200"),
                      ready="http://app.superd.test:%d/ready" % port,
                      ready_timeout=10, startsecs=None) +
              program("other", "sleep 1000", ready="tcp://nosuch.superd.test:%d" % port,
                      ready_timeout=3, startretries=0, startsecs=None))
    sb.start(prefix=["unshare", "-m", "--propagation", "private", "sh", "-c",
                     'mount --bind "$0" /etc/hosts && exec "$@"', hosts])
    sb.wait_state("app", "RUNNING", timeout=15)
    p, _ = sb.wait_state("other", "FATAL", timeout=20)
    check("nosuch.superd.test" in p["spawnerr"] or "timed out" in p["spawnerr"],
          "spawnerr %r" % p["spawnerr"])
    check(sb.call("daemon.version")["api"] == 1, "superd answers")


def test_ready_http_500_is_not_ready(sb):
    port = free_port()
    sb.config(program("app", late(sb, "http", port, 0, "500"),
                      ready="http://127.0.0.1:%d/ready" % port, ready_timeout=2,
                      startretries=0, startsecs=None))
    sb.start()
    p, seen = sb.wait_state("app", "FATAL", timeout=10)
    check("RUNNING" not in seen, "RUNNING on a 500: %s" % seen)
    check("not ready within 2 s" in p["spawnerr"] and "500" in p["spawnerr"],
          "spawnerr %r" % p["spawnerr"])


def test_ready_timeout_backoff_then_fatal(sb):
    port = free_port()   # nobody ever listens there
    sb.config(program("app", "sleep 1000", ready="tcp://127.0.0.1:%d" % port,
                      ready_timeout=1, startretries=2, autostart="false", startsecs=None))
    sb.start()
    w = Watch(sb, "app")
    t0 = time.monotonic()
    sb.call("process.start", {"names": ["app"], "wait": False})
    w.until("FATAL", 20)
    check(w.path() == ["STARTING", "BACKOFF"] * 3 + ["FATAL"], "path %s" % w.path())
    # Each try waited ready_timeout in STARTING before its BACKOFF.
    starts = [e["t"] for e in w.seen if e["to"] == "STARTING"]
    backs = [e["t"] for e in w.seen if e["to"] == "BACKOFF"]
    for s, b in zip(starts, backs):
        check(0.8 <= b - s <= 2.5, "STARTING lasted %.2fs, not ready_timeout=1" % (b - s))
    check(time.monotonic() - t0 < 15, "too slow")
    p = sb.proc("app")
    check("not ready within 1 s" in p["spawnerr"], "spawnerr %r" % p["spawnerr"])
    check(p["pid"] == 0, "a child left behind: %r" % p)
    # The killed children are gone.
    check(not harness.children_of(sb.daemon.pid), "children left")
    # A waiting start says why it failed: not a spawn error, not an exit.
    r = sb.ctl("start", "app")
    check(r.returncode != 0 and "not ready within 1 s" in r.stdout + r.stderr,
          "superctl start: %r %r" % (r.stdout, r.stderr))
    check("spawn error" not in r.stdout + r.stderr, "called a spawn error: %r" % r.stdout)


NOTIFIER = r'''
import os, socket, sys, time
path = os.environ["NOTIFY_SOCKET"]
with open(sys.argv[1], "w") as f:
    f.write(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
time.sleep(1.5)
s.sendto(b"STATUS=warming\n", path)
s.sendto(b"READY=1", path)
for i in range(2000):
    try:
        s.sendto(b"READY=1\nSTATUS=flood %d" % i, path)
    except OSError:
        time.sleep(0.001)   # the queue is full: superd reads in its own time
    try:
        s.sendto(b"x" * 60000, path)   # big junk is read and dropped
    except OSError:
        pass
with open(sys.argv[1] + ".done", "w"):
    pass
time.sleep(1000)
'''


def test_ready_notify_flood(sb):
    script = sb.write("notifier.py", NOTIFIER)
    out = sb.path("notify.path")
    sb.config(program("app", "%s %s %s" % (PY, script, out), ready="notify",
                      ready_timeout=20, startsecs=None))
    sb.start()
    w = Watch(sb, "app")
    t0 = time.monotonic()
    ev = w.until("RUNNING", 15)
    check(ev["t"] - t0 >= 0.8, "RUNNING before READY=1 (%.2fs)" % (ev["t"] - t0))
    path = read_text(out)
    check(path and os.path.exists(path), "NOTIFY_SOCKET %r does not exist" % path)
    wait_until(lambda: os.path.exists(out + ".done"), 20, "the flood to end")
    # The flood changed nothing, and superd still answers at once.
    check(holds_for(lambda: sb.proc("app")["state"] == "RUNNING", 1.0), "left RUNNING")
    t = time.monotonic()
    sb.processes()
    check(time.monotonic() - t < 2, "superd slow after the flood")
    check(w.path() == ["RUNNING"], "path %s" % w.path())
    # A restart waits for a new READY=1 on the same socket path.
    w.seen.clear()
    sb.call("process.stop", {"names": ["app"]}, timeout=10)
    sb.call("process.start", {"names": ["app"], "wait": False})
    w.until("STARTING", 5)
    check(holds_for(lambda: sb.proc("app")["state"] == "STARTING", 0.8),
          "RUNNING at a restart without a new READY=1")
    w.until("RUNNING", 15)
    check(read_text(out) == path, "the notify socket moved")


if __name__ == "__main__":
    harness.main(globals())
