"""superctl against a real superd (SPEC.md section 6): every command's
output and exit code, --json, the prompt, tail -f, events, a hung daemon.

    SUPERD_BIN=build/bin python3 tests/integration/test_ctl.py [-k NAME] [-v]
"""

import json
import os
import re
import select
import signal
import subprocess
import time

import harness
from harness import check, program, read_text, wait_until, wait_output
from ctl_fake import PtyRun

RUNNING = r"^%s\s+RUNNING\s+pid (\d+), uptime \d+:\d\d:\d\d\s*$"
FIELDS = ("name", "group", "state", "pid", "start_time", "stop_time", "uptime_s",
          "exitstatus", "spawnerr", "description", "stdout_logfile", "stderr_logfile")


def setup(sb, *extra, **web_keys):
    sb.config(program("web", "/bin/sleep 1000", **web_keys),
              program("worker", "/bin/sleep 1001", numprocs=2,
                      process_name="%(program_name)s_%(process_num)02d"),
              program("manual", "/bin/sleep 1002", autostart="false"),
              *extra)
    sb.start()
    return sb.wait_running("web", "worker:worker_00", "worker:worker_01")


# --- status ---------------------------------------------------------------

def test_status(sb):
    pids = setup(sb)
    r = sb.ctl("status")
    check(r.returncode == 3, "status with manual STOPPED exit %s, expected 3" % r.returncode)
    check("\x1b" not in r.stdout, "colour without a terminal")
    for name in ("web", "worker:worker_00", "worker:worker_01"):
        m = re.search(RUNNING % name, r.stdout, re.M)
        check(m and int(m.group(1)) == pids[name], "no RUNNING line for %s: %r" % (name, r.stdout))
    check(re.search(r"^manual\s+STOPPED\s+Not started\s*$", r.stdout, re.M),
          "manual not 'STOPPED   Not started': %r" % r.stdout)
    r = sb.ctl("status", "web", "worker:*")
    check(r.returncode == 0 and "manual" not in r.stdout and r.stdout.count("RUNNING") == 3,
          "status web worker:*: %s %r" % (r.returncode, r.stdout))
    check(sb.ctl("status", "worker:worker_01").returncode == 0, "status GROUP:NAME")
    check(sb.ctl("status", "worker").returncode == 0, "status GROUP")
    r = sb.ctl("status", "nosuch")
    check(r.returncode == 4 and "nosuch" in r.stdout + r.stderr, "status nosuch: %s %r"
          % (r.returncode, r.stdout + r.stderr))
    r = sb.ctl("--json", "status")
    data = json.loads(r.stdout)
    check(len(data) == 4 and all(not [f for f in FIELDS if f not in p] for p in data),
          "--json status: %r" % data)


def test_unreachable_exit7(sb):
    missing = sb.path("nothing.sock")
    r = sb.ctl("-s", missing, "status", conf=False)
    check(r.returncode == 7 and missing in r.stderr, "no daemon: %s %r" % (r.returncode, r.stderr))
    sb.config(program("web", "/bin/sleep 1000"))
    r = sb.ctl("status")
    check(r.returncode == 7 and sb.sock in r.stderr, "config socket: %s %r" % (r.returncode, r.stderr))
    r = sb.ctl("status", conf=False, env={"SUPERD_CONFIG": sb.conf})
    check(r.returncode == 7 and sb.sock in r.stderr, "SUPERD_CONFIG: %r" % r.stderr)


# --- start, stop, restart, signal -----------------------------------------

def test_start_stop_restart(sb):
    pids = setup(sb)
    r = sb.ctl("stop", "web")
    check(r.returncode == 0 and r.stdout == "web: stopped\n", "stop: %s %r" % (r.returncode, r.stdout))
    check(sb.proc("web")["state"] == "STOPPED", "stop returned before STOPPED")
    check(sb.ctl("stop", "web").returncode == 0, "stop of a stopped process is not 0")
    r = sb.ctl("start", "web")
    check(r.returncode == 0 and r.stdout == "web: started\n", "start: %s %r" % (r.returncode, r.stdout))
    check(sb.proc("web")["state"] == "RUNNING", "start returned before RUNNING")
    check(sb.ctl("start", "web").returncode == 0, "start of a running process is not 0")
    r = sb.ctl("restart", "worker:*")
    check(r.returncode == 0, "restart exit %s: %s" % (r.returncode, r.stderr))
    check(r.stdout == ("worker:worker_00: stopped\nworker:worker_01: stopped\n"
                       "worker:worker_00: started\nworker:worker_01: started\n"),
          "restart output %r" % r.stdout)
    for n in ("worker:worker_00", "worker:worker_01"):
        check(sb.proc(n)["pid"] != pids[n], "%s not restarted" % n)
    r = sb.ctl("start", "nosuch")
    check(r.returncode == 4, "start nosuch exit %s" % r.returncode)
    r = sb.ctl("stop", "all")
    check(r.returncode == 0 and r.stdout.count(": stopped") == 4, "stop all: %r" % r.stdout)
    check(sb.ctl("status").returncode == 3, "status after stop all is not 3")


def test_start_spawn_error_exit7(sb):
    sb.config(program("bad", "/nonexistent/x", autostart="false", startretries=0))
    sb.start()
    r = sb.ctl("start", "bad")
    check(r.returncode == 7, "spawn error exit %s, expected 7" % r.returncode)
    check(re.search(r"^bad: ERROR \(.*No such file", r.stdout, re.M),
          "spawn error line: %r" % (r.stdout + r.stderr))
    r = sb.ctl("status", "bad")
    check(r.returncode == 3 and re.search(r"^bad\s+(FATAL|BACKOFF)\s+\S", r.stdout, re.M),
          "status of the failed program: %s %r" % (r.returncode, r.stdout))


def test_signal(sb):
    out = sb.path("got_usr1")
    ready = sb.path("ready")
    # The script says when its trap is set: RUNNING (startsecs=0) only
    # means exec succeeded.
    sb.script("trap.sh", "trap 'echo usr1 > %s' USR1\ntouch %s\nwhile :; do sleep 0.1; done\n"
              % (out, ready))
    sb.config(program("web", "/bin/sh %s" % sb.path("trap.sh")),
              program("manual", "/bin/sleep 1000", autostart="false"))
    sb.start()
    sb.wait_running("web")
    wait_until(lambda: os.path.exists(ready), 5, "the trap to be set")
    r = sb.ctl("signal", "USR1", "web")
    check(r.returncode == 0 and r.stdout == "web: signalled\n", "signal: %s %r" % (r.returncode, r.stdout))
    wait_until(lambda: os.path.exists(out), 5, "USR1 to reach the program")
    r = sb.ctl("signal", "HUP", "manual")
    check(r.returncode == 7 and "manual: ERROR" in r.stdout, "signal of stopped: %s %r"
          % (r.returncode, r.stdout))
    r = sb.ctl("signal", "NOSUCHSIG", "web")
    check(r.returncode != 0, "bad signal name accepted")


def test_pid(sb):
    pids = setup(sb)
    r = sb.ctl("pid")
    check(r.returncode == 0 and int(r.stdout) == sb.daemon.pid, "pid: %r vs %d" % (r.stdout, sb.daemon.pid))
    r = sb.ctl("pid", "web")
    check(r.returncode == 0 and int(r.stdout) == pids["web"], "pid web: %r" % r.stdout)
    r = sb.ctl("pid", "manual")
    check(r.returncode == 7 and r.stdout == "0\n", "pid of stopped: %s %r" % (r.returncode, r.stdout))
    r = sb.ctl("pid", "worker:*")
    check(r.returncode == 0 and len(r.stdout.split()) == 2, "pid worker:*: %r" % r.stdout)


# --- logs -----------------------------------------------------------------

def test_tail_and_follow(sb):
    sb.script("talk.sh", 'echo hello-out; echo hello-err >&2\n'
              'while :; do read line < %s && echo "$line"; done\n' % sb.path("fifo"))
    os.mkfifo(sb.path("fifo"))
    sb.config(program("talk", "/bin/sh %s" % sb.path("talk.sh")))
    sb.start()
    sb.wait_running("talk")
    wait_until(lambda: "hello-out" in sb.ctl("tail", "talk").stdout, 10, "hello-out in tail")
    r = sb.ctl("tail", "talk", "stderr")
    check(r.returncode == 0 and "hello-err" in r.stdout, "tail stderr: %r" % r.stdout)
    r = sb.ctl("tail", "-5", "talk")
    check(r.stdout == "-out\n", "tail -5: %r" % r.stdout)
    r = sb.ctl("--json", "tail", "talk")
    check("hello-out" in json.loads(r.stdout)["data"], "--json tail: %r" % r.stdout)
    p = sb.ctl_popen("tail", "-f", "talk")
    got = b""
    deadline = time.monotonic() + 10
    while b"hello-out" not in got and time.monotonic() < deadline:
        got += os.read(p.stdout.fileno(), 4096)
    with open(sb.path("fifo"), "w") as f:
        f.write("a-new-line\n")
    while b"a-new-line" not in got and time.monotonic() < deadline:
        got += os.read(p.stdout.fileno(), 4096)
    check(b"a-new-line" in got, "tail -f did not print the new line: %r" % got)
    p.send_signal(signal.SIGINT)
    check(p.wait(10) == 0, "tail -f after SIGINT is not exit 0")
    r = sb.ctl("clear", "talk")
    check(r.returncode == 0 and r.stdout == "talk: cleared\n", "clear: %s %r" % (r.returncode, r.stdout))
    check("hello-out" not in sb.ctl("tail", "talk").stdout, "tail after clear still shows old output")
    check(sb.ctl("tail", "nosuch").returncode == 4, "tail nosuch is not 4")
    check(sb.ctl("reopen").returncode == 0, "reopen is not 0")


def test_tail_escape_on_terminal(sb):
    sb.config(program("evil", "/bin/sh -c \"printf 'a\\\\033]0;pwned\\\\007b\\\\n'; exec sleep 1000\""))
    sb.start()
    sb.wait_running("evil")
    wait_until(lambda: "pwned" in sb.ctl("tail", "evil").stdout, 10, "output in tail")
    check("\x1b]0;pwned" in sb.ctl("tail", "evil").stdout, "raw without a terminal")
    t = PtyRun(["-c", sb.conf, "tail", "evil"])
    rc, out = t.drain()
    check(rc == 0 and b"a?]0;pwned?b" in out and b"\x1b" not in out, "pty tail: %r" % out)


# --- config ---------------------------------------------------------------

def test_reread_update_avail(sb):
    sb.config(program("a", "/bin/sleep 1000"), program("c", "/bin/sleep 1002"))
    sb.start()
    pids = sb.wait_running("a", "c")
    r = sb.ctl("reread")
    check(r.returncode == 0 and "No config updates" in r.stdout, "empty reread: %r" % r.stdout)
    sb.config(program("a", "/bin/sleep 1000"), program("d", "/bin/sleep 1004"))
    r = sb.ctl("reread")
    check(r.returncode == 0 and "d: available" in r.stdout and "c: disappeared" in r.stdout,
          "reread: %r" % r.stdout)
    r = sb.ctl("avail")
    check(r.returncode == 0 and re.search(r"^d\s+avail\s+auto", r.stdout, re.M)
          and re.search(r"^a\s+in use\s+auto", r.stdout, re.M), "avail: %r" % r.stdout)
    r = sb.ctl("update")
    check(r.returncode == 0, "update exit %s: %s" % (r.returncode, r.stderr))
    check("d: added process group" in r.stdout and "c: removed process group" in r.stdout,
          "update: %r" % r.stdout)
    check(sb.wait_running("a", "d")["a"] == pids["a"], "unchanged a restarted")
    sb.write("superd.conf", read_text(sb.conf) + "[program:broken]\nstartsecs = 1\n")
    r = sb.ctl("update")
    check(r.returncode == 1, "update with an invalid config exit %s, expected 1" % r.returncode)
    check(re.search(r"superd\.conf:\d+:", r.stderr), "no FILE:LINE: %r" % (r.stdout + r.stderr))
    check(sb.proc("d")["state"] == "RUNNING", "a broken config changed something")


# --- daemon ---------------------------------------------------------------

def test_version_and_shutdown(sb):
    setup(sb)
    r = sb.ctl("version")
    check(r.returncode == 0 and re.match(r"^\d+\.\d+", r.stdout), "version: %r" % r.stdout)
    r = sb.ctl("--json", "version")
    check(json.loads(r.stdout).get("api") == 1, "--json version: %r" % r.stdout)
    r = sb.ctl("shutdown")
    check(r.returncode == 0 and "Shut down" in r.stdout, "shutdown: %s %r" % (r.returncode, r.stdout))
    check(sb.daemon.wait(20) == 0, "superd did not exit 0 after shutdown")
    check(sb.ctl("status").returncode == 7, "status after shutdown is not 7")


def events_until(sb, p, wants, timeout=10):
    """Stop and start web until `superctl events` (p) has printed every
    one of `wants`: that proves its subscription is in place, where a
    sleep would guess."""
    got = b""
    end = time.monotonic() + timeout

    def done():
        return all(w in got for w in wants) and got.endswith(b"\n")
    while not done() and time.monotonic() < end:
        sb.ctl("stop", "web")
        sb.ctl("start", "web")
        while not done() and select.select([p.stdout], [], [], 0.5)[0]:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            got += chunk
    return got


def test_events(sb):
    setup(sb)
    p = sb.ctl_popen("events")
    got = events_until(sb, p, [b"web RUNNING -> STOPPING", b"web STOPPING -> STOPPED"])
    check(re.search(rb"^\S+ \S+ web RUNNING -> STOPPING \(pid \d+\)$", got, re.M),
          "no RUNNING -> STOPPING line: %r" % got)
    check(b"web STOPPING -> STOPPED" in got, "no STOPPED line: %r" % got)
    p.send_signal(signal.SIGINT)
    check(p.wait(10) == 0, "events after SIGINT is not 0")
    p = sb.ctl_popen("--json", "events")
    got = events_until(sb, p, [b'"STARTING"'])
    evs = [json.loads(x) for x in got.splitlines() if x.strip()]
    ev = ([e for e in evs if e.get("to") == "STARTING"] or [evs])[0]
    check(ev["name"] == "web" and ev["from"] == "STOPPED" and ev["to"] == "STARTING",
          "--json event: %r" % ev)


def test_hung_daemon(sb):
    setup(sb)
    os.kill(sb.daemon.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = sb.ctl("-t", "2", "status", timeout=30)
        check(r.returncode == 7 and time.monotonic() - t0 < 5,
              "-t 2 on a stopped daemon: exit %s after %.1fs" % (r.returncode, time.monotonic() - t0))
        check(sb.sock in r.stderr, "message does not name the socket: %r" % r.stderr)
        t0 = time.monotonic()
        r = sb.ctl("status", timeout=30)
        took = time.monotonic() - t0
        check(r.returncode == 7 and took < 12, "default timeout: exit %s after %.1fs" % (r.returncode, took))
    finally:
        os.kill(sb.daemon.pid, signal.SIGCONT)
    check(sb.ctl("status", "web").returncode == 0, "status after SIGCONT")


# --- the prompt -----------------------------------------------------------

def test_interactive_stdin(sb):
    pids = setup(sb)
    r = sb.ctl(input="status web\nrestart web\nstatus nosuch\nhelp\nquit\n")
    check(r.returncode == 0, "interactive exit %s" % r.returncode)
    check(re.search(RUNNING % "web", r.stdout, re.M), "status at the prompt: %r" % r.stdout)
    check("web: stopped\nweb: started\n" in r.stdout, "restart at the prompt: %r" % r.stdout)
    check(sb.proc("web")["pid"] != pids["web"], "restart at the prompt did not restart")


def test_interactive_pty(sb):
    setup(sb)
    t = PtyRun(["-c", sb.conf])
    t.read_until("superd> ")
    check(re.search(rb"web +\S*RUNNING", t.out), "status not shown first: %r" % t.out)
    time.sleep(0.2)
    t.write("stop web\r")
    t.read_until("web: stopped")
    t.read_until("superd> ")
    t.write("quit\r")
    rc, _ = t.drain()
    check(rc == 0, "prompt exit %s" % rc)


# --- reload, maintail, fg -----------------------------------------------------

def test_reload(sb):
    pids = setup(sb)
    r = sb.ctl("reload", "web")
    check(r.returncode == 0 and r.stdout == "web: reloaded\n", "reload: %s %r"
          % (r.returncode, r.stdout + r.stderr))
    check(sb.wait_running("web")["web"] != pids["web"], "reload did not replace web")
    r = sb.ctl("reload", "worker:*")
    check(r.returncode == 0 and r.stdout.count("reloaded") == 2, "reload of a group: %r"
          % r.stdout)
    r = sb.ctl("reload", "nosuch")
    check(r.returncode == 4, "reload of nothing exit %s" % r.returncode)
    r = sb.ctl("--json", "reload", "web")
    check(json.loads(r.stdout)[0]["ok"] is True, "reload --json: %r" % r.stdout)

def test_maintail(sb):
    setup(sb)
    r = sb.ctl("maintail")
    check(r.returncode == 0 and "web" in r.stdout, "maintail: %s %r"
          % (r.returncode, r.stdout + r.stderr))
    r = sb.ctl("maintail", "-100")
    check(r.returncode == 0 and 0 < len(r.stdout.encode()) <= 100, "maintail -100: %r" % r.stdout)
    r = sb.ctl("--json", "maintail")
    data = json.loads(r.stdout)
    check(isinstance(data.get("data"), str) and isinstance(data.get("offset"), int),
          "maintail --json: %r" % data)
    proc = sb.ctl_popen("maintail", "-f", "-1")
    os.set_blocking(proc.stdout.fileno(), False)
    got = b""

    def seen(what):
        nonlocal got
        try:
            got += proc.stdout.read() or b""
        except (BlockingIOError, TypeError):
            pass
        return what in got if what else len(got) > 0
    # the first byte is the reply: the follow is registered by then
    wait_until(lambda: seen(b""), 10, "maintail -f -1 printing a byte")
    check(sb.ctl("stop", "web").returncode == 0, "stop web")
    wait_until(lambda: seen(b"web"), 10, "maintail -f showing the stop of web")
    proc.send_signal(signal.SIGINT)
    check(proc.wait(10) == 0, "maintail -f after ^C is not exit 0")


def test_fg(sb):
    setup(sb, program("echoer", "/bin/sh -c 'while read l; do echo \"got:$l\"; "
                      "echo \"err:$l\" >&2; done'", stdin="pipe"))
    pid = sb.wait_running("echoer")["echoer"]
    proc = subprocess.Popen([os.path.join(harness.BIN, "superctl"), "-c", sb.conf, "fg",
                             "echoer"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=sb.env(), start_new_session=True)
    sb.helpers.append(proc)
    os.set_blocking(proc.stderr.fileno(), False)
    wait_output(proc.stderr, b"attached to echoer", 10, "fg to say it is attached")
    proc.stdin.write(b"one\ntwo\n")
    proc.stdin.close()
    err = b""
    check(proc.wait(20) is not None, "fg did not end at EOF")
    check(proc.returncode == 0, "fg exit %s: %r" % (proc.returncode, err))
    wait_until(lambda: "got:two" in sb.ctl("tail", "echoer").stdout, 10, "the lines to reach stdin")
    check(sb.proc("echoer")["pid"] == pid and sb.proc("echoer")["state"] == "RUNNING",
          "detaching (EOF) stopped the process")
    r = sb.ctl("fg", "manual", input="")
    check(r.returncode == 7 and "not running" in r.stderr, "fg of a stopped process: %s %r"
          % (r.returncode, r.stderr))
    r = sb.ctl("fg", "web", input="x\n")
    check(r.returncode == 0 and "stdin" in r.stderr, "fg without stdin=pipe says why: %r" % r.stderr)


if __name__ == "__main__":
    harness.main(globals())
