"""Liveness (SPEC.md section 9, issue 11): `health=` checks every
health_interval while RUNNING; after health_retries failures in a row the
process is restarted once (stop as usual, then start), with the reason
logged, on the RUNNING -> STOPPING event and in `superctl status`."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, program, read_text, wait_until, holds_for  # noqa: E402
from test_ready import Watch, free_port  # noqa: E402

PY = sys.executable

# Answers /health with 200 until the file argv[2] exists, then 500; a
# new instance removes the file first, so it is healthy again.
SERVER = r'''
import http.server, os, sys
port, flag = int(sys.argv[1]), sys.argv[2]
try:
    os.unlink(flag)
except FileNotFoundError:
    pass
with open(flag + ".starts", "a") as f:
    f.write("%d\n" % os.getpid())
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500 if os.path.exists(flag) else 200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer.allow_reuse_address = True
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
'''


def test_health_failing_restarts_once(sb):
    port = free_port()
    flag = sb.path("sick")
    script = sb.write("server.py", SERVER)
    url = "http://127.0.0.1:%d/health" % port
    interval, retries = 1, 3
    sb.config(program("web", "%s %s %d %s" % (PY, script, port, flag),
                      ready="tcp://127.0.0.1:%d" % port, ready_timeout=10, startsecs=None,
                      health=url, health_interval=interval, health_timeout=1,
                      health_retries=retries))
    sb.start()
    sb.wait_running("web")
    pid = sb.proc("web")["pid"]
    # Healthy: several intervals pass without a restart.
    check(holds_for(lambda: sb.proc("web")["pid"] == pid, 2.5), "restarted while healthy")
    w = Watch(sb, "web")
    t0 = time.monotonic()
    open(flag, "w").close()
    ev = w.until("STOPPING", interval * retries + 3)
    took = ev["t"] - t0
    check(took >= interval * (retries - 1), "restarted after %.2fs: before %d failures"
          % (took, retries))
    want = "health check failed 3 times: %s answered 500" % url
    check(ev.get("reason") == want, "event reason %r, want %r" % (ev.get("reason"), want))
    check(ev["from"] == "RUNNING", "from %s" % ev["from"])
    w.until("RUNNING", 10)
    check(w.path() == ["STOPPING", "STOPPED", "STARTING", "RUNNING"], "path %s" % w.path())
    # Exactly one restart: the new instance is healthy and stays.
    check(holds_for(lambda: len(w.seen) == 4 and not os.path.exists(flag),
                    interval * retries + 1.5), "more than one restart: %s" % w.path())
    starts = read_text(flag + ".starts").split()
    check(len(starts) == 2, "started %d times" % len(starts))
    # Every other event carries no reason.
    check(all(e.get("reason") is None for e in w.seen[1:]), "stray reasons %s" % w.seen)
    # Shown by process.list and superctl status, and logged.
    check(sb.proc("web")["reason"] == want, "reason %r" % sb.proc("web")["reason"])
    r = sb.ctl("status", "web")
    check(want in r.stdout, "superctl status: %r" % r.stdout)
    check(want in sb.log(), "not logged")
    # An operator start clears it.
    sb.call("process.stop", {"names": ["web"]}, timeout=10)
    sb.call("process.start", {"names": ["web"]}, timeout=15)
    check(sb.proc("web")["reason"] == "", "reason kept after an operator start")


def test_health_probe_that_never_answers(sb):
    # A port that accepts (the backlog) and never answers: each check
    # times out, the loop never waits.
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)
    port = hang.getsockname()[1]
    try:
        sb.config(program("app", "sleep 1000", startsecs=0,
                          health="http://127.0.0.1:%d/" % port, health_interval=1,
                          health_timeout=3, health_retries=2))
        sb.start()
        sb.wait_running("app")
        w = Watch(sb, "app")
        deadline = time.monotonic() + 12
        worst = 0.0
        while time.monotonic() < deadline and not any(e["to"] == "STOPPING" for e in w.seen):
            t = time.monotonic()
            sb.processes()
            worst = max(worst, time.monotonic() - t)
            try:
                w.until("STOPPING", 0.1)
            except harness.Failure:
                pass
        ev = w.until("STOPPING", 1)
        check("health check failed 2 times" in (ev.get("reason") or ""),
              "reason %r" % ev.get("reason"))
        # A probe run in the loop would hold an answer for its whole 3 s.
        check(worst < 1.5, "superd took %.2fs to answer during a hanging probe" % worst)
        w.until("RUNNING", 10)
    finally:
        hang.close()


def test_health_exec_and_tcp(sb):
    port = free_port()
    flag = sb.path("ok")
    open(flag, "w").close()
    sb.config(program("e", "sleep 1000", startsecs=0, health="exec:test -e %s" % flag,
                      health_interval=1, health_timeout=2, health_retries=1),
              program("t", "sleep 1000", startsecs=0, health="tcp://127.0.0.1:%d" % port,
                      health_interval=1, health_timeout=1, health_retries=2))
    sb.start()
    pids = sb.wait_running("e", "t")
    we = Watch(sb, "e")
    wt = Watch(sb, "t")
    # exec: fine while the file is there.
    check(holds_for(lambda: sb.proc("e")["pid"] == pids["e"], 2.2), "e restarted while healthy")
    os.unlink(flag)
    ev = we.until("STOPPING", 4)
    check((ev.get("reason") or "").startswith("health check failed 1 times: exec:test -e"),
          "reason %r" % ev.get("reason"))
    # tcp: nobody listens: restarted.
    ev = wt.until("STOPPING", 5)
    check("tcp://127.0.0.1:%d" % port in (ev.get("reason") or ""), "reason %r" % ev.get("reason"))
    # No zombie of the exec checks stays behind (superd reaps each one
    # when its SIGCHLD comes: poll until none is left).
    def zombies():
        return [c for c in harness.children_of(sb.daemon.pid)
                if (harness.proc_stat(c) or ["?"])[0] == "Z"]
    wait_until(lambda: not zombies(), 5, "the exec checks' children to be reaped")


def ctxt_switches(pid):
    n = 0
    for line in read_text("/proc/%d/status" % pid).splitlines():
        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
            n += int(line.split()[1])
    return n


def test_no_checks_no_wakeups(sb):
    # 100 programs without checks: an idle superd does not wake up. One
    # with health_interval=1 does, about once a second (the test can fail).
    sb.config(program("idle", "sleep 1000", numprocs=100,
                      process_name="idle_%(process_num)02d"),
              program("checked", "sleep 1000", autostart="false", health="exec:true",
                      health_interval=1, health_timeout=1))
    sb.start()
    wait_until(lambda: sum(p["state"] == "RUNNING" for p in sb.processes()) == 100, 20,
               "100 RUNNING")
    pid = sb.daemon.pid
    time.sleep(0.5)     # let the start-up settle: this is the idle period
    before = ctxt_switches(pid)
    time.sleep(3)
    idle = ctxt_switches(pid) - before
    check(idle <= 1, "superd woke up %d times in 3 s with no checks" % idle)
    sb.call("process.start", {"names": ["checked"]}, timeout=10)
    time.sleep(0.5)
    before = ctxt_switches(pid)
    time.sleep(3)
    busy = ctxt_switches(pid) - before
    check(busy >= 3, "a health check every second woke superd only %d times" % busy)


if __name__ == "__main__":
    harness.main(globals())
