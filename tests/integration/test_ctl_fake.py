"""superctl against a canned JSON-RPC server (ctl_fake.py): every command's
output, exit code and --json, socket resolution, timeouts, oversized and
garbage replies, streams, terminal sanitising and the interactive prompt.
The same promises against a real superd are in test_ctl.py.

    SUPERD_BIN=build/bin python3 tests/integration/test_ctl_fake.py [-k NAME]
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from ctl_fake import (HANG, PtyRun, Reply, check, ctl, item, main, notification,
                      proc)

RUNNING = r"^%s\s+RUNNING\s+pid (\d+), uptime \d+:\d\d:\d\d\s*$"


def sample_processes():
    stop = int(time.mktime((2024, 11, 26, 11, 55, 0, 0, 0, -1)))
    return [proc("bad", "FATAL"),
            proc("manual", "STOPPED"),
            proc("nofile", "FATAL", spawnerr="can't find command '/usr/bin/nope'"),
            proc("once", "EXITED", stop_time=stop, uptime=0),
            proc("web", pid=28326, uptime=3 * 3600 + 4 * 60 + 5),
            proc("worker_00", group="worker", pid=28327, uptime=4),
            proc("worker_01", group="worker", pid=28328, uptime=4),
            proc("starter", "STARTING", pid=99)]


def s(fake, *args, **kw):
    return ctl(["-s", fake.path] + list(args), **kw)


# --- status ---------------------------------------------------------------

def test_status_layout(fake, tmp):
    fake.on("process.list", result=sample_processes())
    r = s(fake, "status")
    check(r.returncode == 3, "status with FATAL/STOPPED exit %s, expected 3" % r.returncode)
    out = r.stdout
    check("\x1b" not in out, "colour without a terminal: %r" % out)
    lines = out.splitlines()
    check(len(lines) == 8, "expected 8 lines: %r" % out)
    expect = [
        "bad                              FATAL     Exited too quickly (process log may have details)",
        "manual                           STOPPED   Not started",
        "nofile                           FATAL     can't find command '/usr/bin/nope'",
        "once                             EXITED    Nov 26 11:55 AM",
        "web                              RUNNING   pid 28326, uptime 3:04:05",
        "worker:worker_00                 RUNNING   pid 28327, uptime 0:00:04",
        "worker:worker_01                 RUNNING   pid 28328, uptime 0:00:04",
        "starter                          STARTING  ",
    ]
    for got, want in zip(lines, expect):
        check(got.rstrip() == want.rstrip(), "status line %r, expected %r" % (got, want))
    m = re.search(RUNNING % "web", out, re.M)
    check(m and m.group(1) == "28326", "acceptance regex does not match: %r" % out)
    check(fake.last("process.list").get("params") in (None, {}),
          "plain status sent names: %r" % fake.last("process.list"))


def test_status_names_and_exit0(fake, tmp):
    fake.on("process.list", result=[proc("web")])
    r = s(fake, "status", "web", "worker:*")
    check(r.returncode == 0, "status of running exit %s" % r.returncode)
    check(fake.last("process.list")["params"] == {"names": ["web", "worker:*"]},
          "names not passed: %r" % fake.last("process.list"))
    for st in ("STARTING", "BACKOFF", "STOPPING"):
        fake.on("process.list", result=[proc("web", st)])
        check(s(fake, "status").returncode == 0, "status %s is not exit 0" % st)
    for st in ("STOPPED", "EXITED", "FATAL", "UNKNOWN"):
        fake.on("process.list", result=[proc("web"), proc("x", st)])
        check(s(fake, "status").returncode == 3, "status %s is not exit 3" % st)


def test_status_long_names_widen_column(fake, tmp):
    long = "a" * 40
    fake.on("process.list", result=[proc(long), proc("web")])
    lines = s(fake, "status").stdout.splitlines()
    check(lines[0].index("RUNNING") == lines[1].index("RUNNING") == 41,
          "columns not aligned past 32: %r" % lines)


def test_status_no_such_process_exit4(fake, tmp):
    fake.on("process.list", error={"code": 100, "message": "no such process: nosuch"})
    r = s(fake, "status", "nosuch")
    check(r.returncode == 4, "unknown name exit %s, expected 4" % r.returncode)
    check("nosuch" in r.stderr and "ERROR" in r.stderr, "message: %r" % r.stderr)


def test_status_json(fake, tmp):
    procs = sample_processes()
    fake.on("process.list", result=procs)
    r = s(fake, "--json", "status")
    check(json.loads(r.stdout) == procs, "--json status is not the result: %r" % r.stdout[:200])
    check(r.returncode == 3, "--json keeps the exit code: %s" % r.returncode)
    r = s(fake, "status", "--json")
    check(json.loads(r.stdout) == procs, "--json after the command not taken")


# --- start, stop, restart, signal, clear ----------------------------------

def test_start_stop_output(fake, tmp):
    fake.on("process.start", result=[item("web"), item("worker:worker_00")])
    r = s(fake, "start", "web", "worker:*")
    check(r.returncode == 0, "start exit %s" % r.returncode)
    check(r.stdout == "web: started\nworker:worker_00: started\n", "start output %r" % r.stdout)
    check(fake.last("process.start")["params"] == {"names": ["web", "worker:*"], "wait": True},
          "start params %r" % fake.last("process.start")["params"])
    fake.on("process.stop", result=[item("web")])
    r = s(fake, "stop", "web")
    check(r.returncode == 0 and r.stdout == "web: stopped\n", "stop: %s %r" % (r.returncode, r.stdout))
    check(fake.last("process.stop")["params"]["wait"] is True, "stop without wait")


def test_start_errors_exit7(fake, tmp):
    fake.on("process.start", result=[
        item("web"),
        item("bad", False, 103, "No such file or directory: /x")])
    r = s(fake, "start", "all")
    check(r.returncode == 7, "spawn error exit %s, expected 7" % r.returncode)
    check("bad: ERROR (spawn error: No such file or directory: /x)" in r.stdout,
          "spawn error line: %r" % r.stdout)
    fake.on("process.start", result=[item("bad", False, 104,
                                          "Exited too quickly (process log may have details)")])
    r = s(fake, "start", "bad")
    check(r.returncode == 7 and "bad: ERROR (Exited too quickly" in r.stdout,
          "abnormal termination: %s %r" % (r.returncode, r.stdout))
    fake.on("process.start", result=[item("web", False, 101, "already started")])
    r = s(fake, "start", "web")
    check(r.returncode == 0, "start of a started process exit %s" % r.returncode)
    fake.on("process.stop", result=[item("web", False, 102, "not running")])
    r = s(fake, "stop", "web")
    check(r.returncode == 0, "stop of a stopped process exit %s" % r.returncode)
    fake.on("process.start", error={"code": 100, "message": "no such process: nope"})
    r = s(fake, "start", "nope")
    check(r.returncode == 4, "start of unknown exit %s, expected 4" % r.returncode)


def test_restart_output(fake, tmp):
    fake.on("process.restart", result=[item("worker:worker_00"), item("worker:worker_01")])
    r = s(fake, "restart", "worker:*")
    check(r.returncode == 0, "restart exit %s" % r.returncode)
    check(r.stdout == ("worker:worker_00: stopped\nworker:worker_01: stopped\n"
                       "worker:worker_00: started\nworker:worker_01: started\n"),
          "restart output %r" % r.stdout)
    check(fake.last("process.restart")["params"] == {"names": ["worker:*"], "wait": True},
          "restart params")


def test_signal(fake, tmp):
    fake.on("process.signal", result=[item("web")])
    r = s(fake, "signal", "HUP", "web")
    check(r.returncode == 0 and r.stdout == "web: signalled\n", "signal: %r" % r.stdout)
    check(fake.last("process.signal")["params"] == {"names": ["web"], "signal": "HUP"},
          "signal params %r" % fake.last("process.signal")["params"])
    fake.on("process.signal", result=[item("web", False, 102, "not running")])
    r = s(fake, "signal", "HUP", "web")
    check(r.returncode == 7 and "web: ERROR (not running)" in r.stdout,
          "signal of a stopped process: %s %r" % (r.returncode, r.stdout))
    fake.on("process.signal", error={"code": 108, "message": "bad signal: FOO"})
    r = s(fake, "signal", "FOO", "web")
    check(r.returncode == 1 and "bad signal" in r.stderr, "bad signal: %s %r" % (r.returncode, r.stderr))
    check(s(fake, "signal", "HUP").returncode == 2, "signal without a name is not a usage error")


def test_clear(fake, tmp):
    fake.on("process.clear_log", result=[item("web")])
    r = s(fake, "clear", "web")
    check(r.returncode == 0 and r.stdout == "web: cleared\n", "clear: %r" % r.stdout)
    check(fake.last("process.clear_log")["params"] == {"names": ["web"]}, "clear params")


# --- pid ------------------------------------------------------------------

def test_pid(fake, tmp):
    fake.on("daemon.info", result={"pid": 777, "state": "RUNNING", "uptime_s": 5,
                                   "config": "/x", "socket": fake.path})
    r = s(fake, "pid")
    check(r.returncode == 0 and r.stdout == "777\n", "pid: %s %r" % (r.returncode, r.stdout))
    fake.on("process.list", result=[proc("web", pid=4242)])
    r = s(fake, "pid", "web")
    check(r.returncode == 0 and r.stdout == "4242\n", "pid web: %r" % r.stdout)
    fake.on("process.list", result=[proc("manual", "STOPPED")])
    r = s(fake, "pid", "manual")
    check(r.returncode == 7 and r.stdout == "0\n", "pid of stopped: %s %r" % (r.returncode, r.stdout))
    fake.on("process.list", error={"code": 100, "message": "no such process: x"})
    check(s(fake, "pid", "x").returncode == 4, "pid of unknown is not 4")


# --- tail -----------------------------------------------------------------

def test_tail(fake, tmp):
    fake.on("process.tail", result={"data": "line 1\nline 2\n", "offset": 14})
    r = s(fake, "tail", "web")
    check(r.returncode == 0 and r.stdout == "line 1\nline 2\n", "tail: %r" % r.stdout)
    check(fake.last("process.tail")["params"] ==
          {"name": "web", "stream": "stdout", "bytes": 1600, "follow": False},
          "tail params %r" % fake.last("process.tail")["params"])
    s(fake, "tail", "-200", "web", "stderr")
    check(fake.last("process.tail")["params"] ==
          {"name": "web", "stream": "stderr", "bytes": 200, "follow": False},
          "tail -200 stderr params %r" % fake.last("process.tail")["params"])
    for bad in (["tail"], ["tail", "web", "stdin"], ["tail", "-x", "web"], ["tail", "-0", "web"],
                ["tail", "web", "stdout", "more"]):
        check(s(fake, *bad).returncode == 2, "%s is not a usage error" % bad)
    fake.on("process.tail", error={"code": 100, "message": "no such process: x"})
    check(s(fake, "tail", "x").returncode == 4, "tail of unknown is not 4")


def test_tail_follow_until_close(fake, tmp):
    fake.on("process.tail", result={"data": "old\n", "offset": 4},
            then=[notification("log.data", {"name": "web", "stream": "stdout", "data": "new 1\n"}),
                  0.2,
                  notification("log.data", {"name": "web", "stream": "stdout", "data": "new 2\n"})],
            close=True)
    r = s(fake, "tail", "-f", "web")
    check(r.returncode == 0, "tail -f ended by the daemon exit %s" % r.returncode)
    check(r.stdout == "old\nnew 1\nnew 2\n", "tail -f output %r" % r.stdout)
    check(fake.last("process.tail")["params"]["follow"] is True, "follow not sent")


def test_tail_follow_sigint_exits0(fake, tmp):
    fake.on("process.tail", result={"data": "old\n", "offset": 4},
            then=[notification("log.data", {"name": "web", "stream": "stdout", "data": "live\n"})])
    p = subprocess.Popen([os.path.join(os.environ.get("SUPERD_BIN", "build/bin"), "superctl"),
                          "-s", fake.path, "tail", "-f", "web"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    got = b""
    deadline = time.monotonic() + 10
    while b"live\n" not in got and time.monotonic() < deadline:
        got += os.read(p.stdout.fileno(), 4096)
    check(got == b"old\nlive\n", "tail -f printed %r before SIGINT" % got)
    p.send_signal(signal.SIGINT)
    rc = p.wait(10)
    check(rc == 0, "tail -f after SIGINT exit %s, expected 0" % rc)


def test_tail_sanitises_on_a_terminal(fake, tmp):
    evil = "ok \x1b]0;pwned\x07 \x9b31m done\r\n\ttab\n"
    fake.on("process.tail", result={"data": evil, "offset": 10})
    r = s(fake, "tail", "web")
    check("\x1b]0;pwned\x07 \x9b31m" in r.stdout, "not a terminal: tail must be raw: %r" % r.stdout)
    rc, out = PtyRun(["-s", fake.path, "tail", "web"]).drain()
    check(rc == 0, "tail on a pty exit %s" % rc)
    check(b"\x1b" not in out and b"\x07" not in out and b"\xc2\x9b" not in out,
          "escape reached the terminal: %r" % out)
    check(b"ok ?]0;pwned? ?31m done?" in out and b"\ttab" in out, "sanitised text: %r" % out)
    rc, out = PtyRun(["-s", fake.path, "--raw", "tail", "web"]).drain()
    check(b"\x1b]0;pwned" in out, "--raw did not keep the escape: %r" % out)


# --- events ---------------------------------------------------------------

def test_events(fake, tmp):
    ev1 = {"name": "web", "from": "STARTING", "to": "RUNNING", "pid": 42,
           "time": time.mktime((2024, 11, 26, 12, 0, 1, 0, 0, -1))}
    ev2 = {"name": "web", "from": "RUNNING", "to": "EXITED", "pid": 42, "time": ev1["time"] + 1}
    fake.on("events.subscribe", result={},
            then=[notification("process.state", ev1), notification("process.state", ev2)],
            close=True)
    r = s(fake, "events")
    check(r.returncode == 0, "events exit %s" % r.returncode)
    check(r.stdout == ("2024-11-26 12:00:01 web STARTING -> RUNNING (pid 42)\n"
                       "2024-11-26 12:00:02 web RUNNING -> EXITED (pid 42)\n"),
          "events output %r" % r.stdout)
    r = s(fake, "--json", "events")
    lines = r.stdout.splitlines()
    check([json.loads(l) for l in lines] == [ev1, ev2], "events --json: %r" % r.stdout)


def test_events_sigint(fake, tmp):
    fake.on("events.subscribe", result={},
            then=[notification("process.state", {"name": "a", "from": "STOPPED",
                                                 "to": "STARTING", "pid": 0, "time": 1})])
    p = subprocess.Popen([os.path.join(os.environ.get("SUPERD_BIN", "build/bin"), "superctl"),
                          "-s", fake.path, "events"], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    line = p.stdout.readline()
    check(b"a STOPPED -> STARTING (pid 0)" in line, "events line %r" % line)
    p.send_signal(signal.SIGINT)
    check(p.wait(10) == 0, "events after SIGINT is not exit 0")


# --- config ---------------------------------------------------------------

def test_reread_update_avail(fake, tmp):
    fake.on("config.reread", result={"added": ["d"], "changed": ["b"], "removed": ["c"]})
    r = s(fake, "reread")
    check(r.returncode == 0, "reread exit %s" % r.returncode)
    check(r.stdout == "d: available\nb: changed\nc: disappeared\n", "reread: %r" % r.stdout)
    fake.on("config.reread", result={"added": [], "changed": [], "removed": []})
    r = s(fake, "reread")
    check(r.stdout == "No config updates to processes\n", "empty reread: %r" % r.stdout)
    fake.on("config.update", result={"added": ["d"], "changed": ["b"], "removed": ["c"],
                                     "restart_needed": ["socket"]})
    r = s(fake, "update")
    check(r.returncode == 0, "update exit %s" % r.returncode)
    check(r.stdout == ("c: removed process group\nb: updated process group\n"
                       "d: added process group\n"), "update: %r" % r.stdout)
    check("socket" in r.stderr and "restart" in r.stderr, "restart_needed not warned: %r" % r.stderr)
    check(fake.last("config.update").get("params") in (None, {}), "plain update sent groups")
    s(fake, "update", "b", "d")
    check(fake.last("config.update")["params"] == {"groups": ["b", "d"]}, "update groups params")
    s(fake, "update", "all")
    check(fake.last("config.update").get("params") in (None, {}), "update all sent groups")
    fake.on("config.update", error={"code": 107,
                                    "message": "/etc/superd/superd.conf:12: bad value for startsecs"})
    r = s(fake, "update")
    check(r.returncode == 1, "update with a broken config exit %s, expected 1" % r.returncode)
    check("/etc/superd/superd.conf:12: bad value for startsecs" in r.stderr,
          "FILE:LINE not shown: %r" % r.stderr)
    fake.on("config.avail", result=[
        {"name": "web", "group": "web", "in_use": True, "autostart": True},
        {"name": "manual", "group": "manual", "in_use": False, "autostart": False}])
    r = s(fake, "avail")
    check(r.returncode == 0, "avail exit %s" % r.returncode)
    check(re.search(r"^web\s+in use\s+auto$", r.stdout, re.M) and
          re.search(r"^manual\s+avail\s+manual$", r.stdout, re.M), "avail: %r" % r.stdout)


# --- daemon ---------------------------------------------------------------

def test_version_reopen_shutdown(fake, tmp):
    r = s(fake, "version")
    check(r.returncode == 0 and r.stdout == "0.1.0\n", "version: %r" % r.stdout)
    fake.on("daemon.reopen_logs", result={})
    r = s(fake, "reopen")
    check(r.returncode == 0 and "Reopened" in r.stdout, "reopen: %r" % r.stdout)
    fake.on("daemon.shutdown", result={}, close=True)
    r = s(fake, "shutdown")
    check(r.returncode == 0 and r.stdout == "Shut down\n", "shutdown: %r" % r.stdout)


def test_json_everywhere(fake, tmp):
    canned = {
        "process.list": [proc("web")],
        "process.start": [item("web")],
        "process.stop": [item("web")],
        "process.restart": [item("web")],
        "process.signal": [item("web")],
        "process.clear_log": [item("web")],
        "process.tail": {"data": "x\n", "offset": 2},
        "config.reread": {"added": ["a"], "changed": [], "removed": []},
        "config.update": {"added": ["a"], "changed": [], "removed": []},
        "config.avail": [{"name": "web", "group": "web", "in_use": True, "autostart": True}],
        "daemon.reopen_logs": {},
        "daemon.version": {"version": "0.1.0", "api": 1},
        "daemon.info": {"pid": 1, "state": "RUNNING", "uptime_s": 1, "config": "c", "socket": "s"},
    }
    for method, result in canned.items():
        fake.on(method, result=result)
    commands = [(["status"], "process.list"), (["start", "web"], "process.start"),
                (["stop", "web"], "process.stop"), (["restart", "web"], "process.restart"),
                (["signal", "TERM", "web"], "process.signal"), (["clear", "web"], "process.clear_log"),
                (["tail", "web"], "process.tail"), (["reread"], "config.reread"),
                (["update"], "config.update"), (["avail"], "config.avail"),
                (["reopen"], "daemon.reopen_logs"), (["version"], "daemon.version"),
                (["pid"], "daemon.info"), (["pid", "web"], "process.list")]
    for args, method in commands:
        r = s(fake, "--json", *args)
        check(r.returncode == 0, "--json %s exit %s: %s" % (args, r.returncode, r.stderr))
        try:
            got = json.loads(r.stdout)
        except ValueError:
            raise AssertionError("--json %s is not JSON: %r" % (args, r.stdout))
        check(got == canned[method], "--json %s printed %r" % (args, got))
    fake.on("daemon.shutdown", result={}, close=True)
    r = s(fake, "--json", "shutdown")
    check(json.loads(r.stdout) == {}, "--json shutdown: %r" % r.stdout)
    fake.on("process.start", error={"code": 100, "message": "no such process: x"})
    r = s(fake, "--json", "start", "x")
    check(r.returncode == 4 and json.loads(r.stdout)["error"]["code"] == 100,
          "--json error: %s %r" % (r.returncode, r.stdout))


# --- usage, help ----------------------------------------------------------

def test_usage_errors_exit2(fake, tmp):
    for args in (["start"], ["stop"], ["restart"], ["signal"], ["clear"], ["nosuch"],
                 ["reread", "x"], ["version", "x"], ["help", "nosuch"], ["-t", "abc", "status"],
                 ["--bogus", "status"]):
        r = s(fake, *args)
        check(r.returncode == 2, "%s exit %s, expected 2" % (args, r.returncode))
        check(r.stderr, "%s: no message" % args)
    check(fake.methods() == [], "usage errors reached the daemon: %r" % fake.methods())


def test_help(fake, tmp):
    r = s(fake, "help")
    check(r.returncode == 0, "help exit %s" % r.returncode)
    for c in ("status", "start", "stop", "restart", "signal", "tail", "pid", "clear", "reread",
              "update", "avail", "reopen", "events", "shutdown", "version", "help",
              "maintail", "fg", "reload"):
        check(re.search(r"^  %s\b" % c, r.stdout, re.M), "help does not list %s" % c)
    check("-t SECONDS" in r.stdout, "help does not document -t")
    r = s(fake, "help", "tail")
    check(r.returncode == 0 and "tail [-f] [-BYTES] NAME [stdout|stderr]" in r.stdout,
          "help tail: %r" % r.stdout)
    check(ctl(["--help"]).returncode == 0, "--help is not 0")
    r = s(fake, "_commands")
    check(r.stdout.split()[0] == "status" and "_names" not in r.stdout, "_commands: %r" % r.stdout)
    check(fake.methods() == [], "help talked to the daemon")


def test_names_for_completion(fake, tmp):
    fake.on("process.list", result=[proc("web"), proc("w_00", group="w"), proc("w_01", group="w")])
    r = s(fake, "_names")
    check(r.stdout.split() == ["web", "w", "w:*", "w:w_00", "w:w_01"], "_names: %r" % r.stdout)


def test_bash_completion(fake, tmp):
    fake.on("process.list", result=[proc("web"), proc("w_00", group="w"), proc("w_01", group="w")])
    src = os.environ.get("SUPERD_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
    script = os.path.join(src, "etc", "superctl.bash-completion")

    def complete(*words):
        cmd = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _superctl; '
               'printf "%%s\\n" "${COMPREPLY[@]}"'
               % (script, " ".join("'%s'" % w for w in words), len(words) - 1))
        env = dict(os.environ, SUPERD_SOCKET=fake.path,
                   PATH=os.path.dirname(os.path.realpath(
                       os.path.join(os.environ.get("SUPERD_BIN", "build/bin"), "superctl")))
                   + ":" + os.environ.get("PATH", ""))
        r = subprocess.run(["bash", "--norc", "-c", cmd], capture_output=True, text=True, env=env,
                           timeout=20)
        return sorted(r.stdout.split())
    check(complete("superctl", "st") == ["start", "status", "stop"], "commands: %r" % complete("superctl", "st"))
    check(complete("superctl", "--json", "res") == ["restart"], "after --json")
    got = complete("superctl", "restart", "w")
    check(got == ["w", "w:*", "w:w_00", "w:w_01", "web"], "names: %r" % got)
    check(complete("superctl", "signal", "HU") == ["HUP"], "signal names")
    check(complete("superctl", "tail", "web", "std") == ["stderr", "stdout"], "tail streams")
    check(complete("superctl", "help", "up") == ["update"], "help COMMAND")
    # the script lists no command itself: new ones come from superctl's table
    check(complete("superctl", "mai") == ["maintail"], "maintail: %r" % complete("superctl", "mai"))
    check(complete("superctl", "fg", "w") == ["w:w_00", "w:w_01", "web"], "fg: processes only")
    check(complete("superctl", "-H", "h1", "rel") == ["reload"], "after -H HOST")
    check(complete("superctl", "tail", "-f", "web", "std") == ["stderr", "stdout"],
          "tail -f NAME streams")
    with open(script) as f:
        text = f.read()
    for c in ("status", "restart", "signal", "update", "maintail"):
        check(not re.search(r"\b%s\b[|)]" % c, text), "the script still lists %s" % c)


# --- socket resolution, failures ------------------------------------------

def test_socket_resolution(fake, tmp):
    fake.on("daemon.version", result={"version": "9.9", "api": 1})
    missing = os.path.join(tmp, "missing.sock")
    conf = os.path.join(tmp, "superd.conf")

    def write(text):
        with open(conf, "w") as f:
            f.write(text)
    # -s
    r = ctl(["-s", missing, "version"])
    check(r.returncode == 7 and missing in r.stderr and "No such file" in r.stderr,
          "-s missing: %s %r" % (r.returncode, r.stderr))
    # $SUPERD_SOCKET, and -s over it
    r = ctl(["version"], extra_env={"SUPERD_SOCKET": fake.path})
    check(r.stdout == "9.9\n", "SUPERD_SOCKET not used: %r" % (r.stdout + r.stderr))
    r = ctl(["-s", missing, "version"], extra_env={"SUPERD_SOCKET": fake.path})
    check(r.returncode == 7, "-s does not beat SUPERD_SOCKET")
    # [superctl] socket beats [control] socket
    write("[control]\nsocket = %s\n\n[superctl]\nsocket = %s\n" % (missing, fake.path))
    r = ctl(["-c", conf, "version"])
    check(r.stdout == "9.9\n", "[superctl] socket not used: %r" % (r.stdout + r.stderr))
    r = ctl(["-c", conf, "version"], extra_env={"SUPERD_SOCKET": missing})
    check(r.returncode == 7, "SUPERD_SOCKET does not beat the config")
    # [control] alone; $SUPERD_CONFIG
    write("[superd]\nlogfile = /dev/null\n[control]\nsocket=%s\n" % fake.path)
    r = ctl(["version"], extra_env={"SUPERD_CONFIG": conf})
    check(r.stdout == "9.9\n", "[control] via SUPERD_CONFIG: %r" % (r.stdout + r.stderr))
    # supervisord spelling, %(here)s, CRLF, a broken program section
    write("[unix_http_server]\r\nfile = %(here)s/nothing.sock ; comment\r\n"
          "[supervisorctl]\r\nserverurl = unix://%(here)s/fake.sock\r\n"
          "[program:broken]\r\nstartsecs = notanumber\r\n")
    r = ctl(["-c", conf, "version"])
    check(r.stdout == "9.9\n", "[supervisorctl] serverurl: %r" % (r.stdout + r.stderr))
    write("[unix_http_server]\nfile = %s\n" % missing)
    r = ctl(["-c", conf, "status"])
    check(r.returncode == 7 and missing in r.stderr, "config socket missing: %r" % r.stderr)
    # -c that cannot be read: said, then the default socket
    r = ctl(["-c", os.path.join(tmp, "nope.conf"), "status"])
    check(r.returncode == 7 and "nope.conf" in r.stderr and "/run/superd/superd.sock" in r.stderr,
          "unreadable -c: %s %r" % (r.returncode, r.stderr))


def test_refused_socket_exit7(fake, tmp):
    path = os.path.join(tmp, "dead.sock")
    sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sk.bind(path)
    sk.close()              # a stale socket file: ECONNREFUSED
    r = ctl(["-s", path, "status"])
    check(r.returncode == 7 and path in r.stderr and "refused" in r.stderr,
          "refused: %s %r" % (r.returncode, r.stderr))


def test_hung_daemon_times_out(fake, tmp):
    fake.on("process.list", fn=lambda params: HANG)
    t0 = time.monotonic()
    r = s(fake, "-t", "1", "status", timeout=20)
    took = time.monotonic() - t0
    check(r.returncode == 7, "hung daemon exit %s, expected 7" % r.returncode)
    check(took < 5, "hung daemon took %.1fs with -t 1" % took)
    check(fake.path in r.stderr and "answer" in r.stderr, "message: %r" % r.stderr)


def test_long_call_survives_while_pinged(fake, tmp):
    fake.on("process.start", result=[item("web")], delay=2.5)
    r = s(fake, "-t", "1", "start", "web", timeout=20)
    check(r.returncode == 0 and r.stdout == "web: started\n",
          "slow start with live daemon: %s %r %r" % (r.returncode, r.stdout, r.stderr))
    check("daemon.version" in fake.methods(), "no liveness ping sent: %r" % fake.methods())
    pings = {"n": 0}

    def dead_ping(params):
        pings["n"] += 1
        return HANG
    fake.on("daemon.version", fn=dead_ping)
    fake.on("process.stop", fn=lambda params: HANG)
    t0 = time.monotonic()
    r = s(fake, "-t", "1", "stop", "web", timeout=20)
    check(r.returncode == 7 and time.monotonic() - t0 < 5,
          "hung daemon during stop: exit %s after %.1fs" % (r.returncode, time.monotonic() - t0))


def test_oversized_and_garbage_replies(fake, tmp):
    big = b'{"jsonrpc":"2.0","id":1,"result":"' + b"x" * (100 << 20)
    fake.on("process.list", raw=big)
    t0 = time.monotonic()
    r = s(fake, "status", timeout=60)
    check(r.returncode == 1, "100 MiB reply exit %s, expected 1" % r.returncode)
    check("larger than" in r.stderr, "oversize message: %r" % r.stderr)
    check(time.monotonic() - t0 < 20, "oversize took %.1fs" % (time.monotonic() - t0))
    fake.on("process.list", raw=b"this is not json\n")
    r = s(fake, "status")
    check(r.returncode == 1 and "bad reply" in r.stderr, "garbage: %s %r" % (r.returncode, r.stderr))
    fake.on("process.list", fn=lambda params: Reply(raw=b"", close=True))
    r = s(fake, "status")
    check(r.returncode == 7 and "closed" in r.stderr, "closed: %s %r" % (r.returncode, r.stderr))


def test_notifications_during_call_ignored(fake, tmp):
    def with_noise(params):
        return Reply(result=[proc("web")])
    fake.on("process.list", fn=with_noise)
    r = s(fake, "status")
    check(r.returncode == 0, "status exit %s" % r.returncode)


# --- colour, interactive --------------------------------------------------

def test_colour_only_on_a_terminal(fake, tmp):
    fake.on("process.list", result=[proc("web"), proc("bad", "FATAL")])
    rc, out = PtyRun(["-s", fake.path, "status"]).drain()
    check(rc == 3, "status on a pty exit %s" % rc)
    check(b"\x1b[32mRUNNING\x1b[0m" in out and b"\x1b[31mFATAL\x1b[0m" in out,
          "no colour on a terminal: %r" % out)
    check(re.search(rb"web +\x1b\[32mRUNNING\x1b\[0m   pid 4242", out), "padding with colour: %r" % out)
    rc, out = PtyRun(["-s", fake.path, "status"], extra_env={"NO_COLOR": "1"}).drain()
    check(b"\x1b[" not in out, "NO_COLOR ignored: %r" % out)


def test_interactive_stdin(fake, tmp):
    fake.on("process.list", result=[proc("web")])
    fake.on("process.restart", result=[item("web")])
    r = s(fake, input="status\n\n# a comment\nrestart web\nhelp\nnosuchcmd\nversion\nquit\nversion\n")
    check(r.returncode == 0, "interactive exit %s" % r.returncode)
    check(re.search(RUNNING % "web", r.stdout, re.M), "status at the prompt: %r" % r.stdout)
    check("web: stopped\nweb: started\n" in r.stdout, "restart at the prompt: %r" % r.stdout)
    check("commands (help COMMAND" in r.stdout and "quit" in r.stdout, "help at the prompt")
    check("unknown command 'nosuchcmd'" in r.stderr, "unknown command: %r" % r.stderr)
    check(r.stdout.count("0.1.0\n") == 1, "quit did not stop reading: %r" % r.stdout)
    check(not re.search(r"^superd> ", r.stdout, re.M), "prompt printed without a terminal")
    r = s(fake, input="version\n")      # EOF ends it
    check(r.returncode == 0 and r.stdout == "0.1.0\n", "EOF: %r" % r.stdout)


def test_interactive_pty(fake, tmp):
    fake.on("process.list", result=[proc("web")])
    fake.on("process.stop", result=[item("web")])
    t = PtyRun(["-s", fake.path])
    t.read_until("superd> ")
    check(re.search(rb"web +\S*RUNNING", t.out), "status not run first: %r" % t.out)
    t.write("stop web\r")
    t.read_until("web: stopped")
    t.read_until("superd> ")
    t.write("help stop\r")
    t.read_until("Stop processes")
    t.write("exit\r")
    rc, out = t.drain()
    check(rc == 0, "interactive pty exit %s" % rc)
    t = PtyRun(["-s", fake.path])
    t.read_until("superd> ")
    time.sleep(0.3)                     # let libedit take the terminal
    t.write("\x04")                     # ^D
    rc, out = t.drain()
    check(rc == 0, "^D at the prompt exit %s" % rc)


def test_interactive_tail_f_interrupt_returns_to_prompt(fake, tmp):
    fake.on("process.list", result=[proc("web")])
    fake.on("process.tail", result={"data": "old\n", "offset": 4})
    t = PtyRun(["-s", fake.path])
    t.read_until("superd> ")
    t.write("tail -f web\r")
    t.read_until("old\r\n")
    time.sleep(0.2)
    t.write("\x03")                     # ^C ends the follow, not the prompt
    t.read_until("superd> ", timeout=5)
    time.sleep(0.2)
    t.write("vers\x03")                 # ^C drops a half-typed line
    time.sleep(0.3)
    t.write("version\r")
    t.read_until("0.1.0")
    t.write("quit\r")
    rc, _ = t.drain()
    check(rc == 0, "exit %s" % rc)


# --- maintail, reload, fg, _complete ----------------------------------------

def test_maintail(fake, tmp):
    fake.on("daemon.tail", result={"data": "superd: started\n", "offset": 16})
    r = s(fake, "maintail")
    check(r.returncode == 0 and r.stdout == "superd: started\n", "maintail: %s %r"
          % (r.returncode, r.stdout))
    check(fake.last("daemon.tail")["params"] == {"bytes": 1600, "follow": False},
          "maintail params: %r" % fake.last("daemon.tail"))
    r = s(fake, "maintail", "-500")
    check(fake.last("daemon.tail")["params"]["bytes"] == 500, "maintail -500")
    r = s(fake, "--json", "maintail")
    check(json.loads(r.stdout) == {"data": "superd: started\n", "offset": 16},
          "maintail --json: %r" % r.stdout)
    for bad in (["maintail", "x"], ["maintail", "-0"], ["maintail", "-f", "-f", "-f"]):
        check(s(fake, *bad).returncode == 2, "%s is not a usage error" % bad)
    fake.on("daemon.tail", result={"data": "old\n", "offset": 4},
            then=[notification("log.data", {"data": "new line\n"})], close=True)
    r = s(fake, "maintail", "-f")
    check(r.returncode == 0 and r.stdout == "old\nnew line\n", "maintail -f: %s %r"
          % (r.returncode, r.stdout))
    check(fake.last("daemon.tail")["params"]["follow"] is True, "maintail -f sent no follow")


def test_reload(fake, tmp):
    fake.on("process.reload", result=[item("web"), item("w:w_00")])
    r = s(fake, "reload", "web", "w:*")
    check(r.returncode == 0 and r.stdout == "web: reloaded\nw:w_00: reloaded\n",
          "reload: %s %r" % (r.returncode, r.stdout))
    check(fake.last("process.reload")["params"] == {"names": ["web", "w:*"], "wait": True},
          "reload params: %r" % fake.last("process.reload"))
    fake.on("process.reload", result=[item("web"), item("w", ok=False, code=103,
                                                         message="spawn error")])
    r = s(fake, "reload", "all")
    check(r.returncode == 7 and "w: ERROR (" in r.stdout, "reload failure: %s %r"
          % (r.returncode, r.stdout))
    fake.on("process.reload", error={"code": 100, "message": "no such process: x"})
    check(s(fake, "reload", "x").returncode == 4, "reload of nothing is not 4")
    check(s(fake, "reload").returncode == 2, "reload without a name is not 2")


def test_fg(fake, tmp):
    fake.on("process.list", result=[proc("web")])
    fake.on("process.tail", fn=lambda p: Reply(
        {"data": ""}, then=[notification("log.data", {"name": "web", "stream": p["stream"],
                                                       "data": "out of %s\n" % p["stream"]})]))
    # the echo comes before the reply (ids: list 1, tails 2 and 3, stdin 4), so it is
    # printed before EOF on stdin detaches
    echo = notification("log.data", {"name": "web", "stream": "stdout", "data": "echo: hi\n"})
    fake.on("process.stdin", raw=(json.dumps(echo) + "\n" + json.dumps(
        {"jsonrpc": "2.0", "id": 4, "result": {}}) + "\n").encode())
    r = s(fake, "fg", "web", input="hi\n")
    check(r.returncode == 0, "fg exit %s: %r" % (r.returncode, r.stderr))
    check(fake.last("process.stdin")["params"] == {"name": "web", "data": "hi\n"},
          "stdin not forwarded: %r" % fake.last("process.stdin"))
    tails = [q["params"] for q in fake.requests if q.get("method") == "process.tail"]
    check(sorted(t["stream"] for t in tails) == ["stderr", "stdout"] and
          all(t["follow"] is True for t in tails), "fg follows: %r" % tails)
    check("echo: hi\n" in r.stdout, "fg output: %r" % r.stdout)
    check("stop" not in fake.methods() and "process.stop" not in fake.methods(),
          "detaching stopped the process")
    fake.on("process.list", result=[proc("web", "STOPPED")])
    r = s(fake, "fg", "web", input="")
    check(r.returncode == 7 and "not running" in r.stderr, "fg of a stopped process: %s %r"
          % (r.returncode, r.stderr))
    fake.on("process.list", result=[proc("a", group="g"), proc("b", group="g")])
    check(s(fake, "fg", "g", input="").returncode == 2, "fg of a group is not 2")
    check(s(fake, "fg").returncode == 2, "fg without a name is not 2")


def test_complete_from_the_table(fake, tmp):
    fake.on("process.list", result=[proc("web"), proc("w_00", group="w")])
    fake.on("config.avail", result=[{"name": "web", "group": "web", "in_use": True},
                                     {"name": "new", "group": "new", "in_use": False}])
    got = s(fake, "_complete", "").stdout.split()
    for c in ("status", "maintail", "fg", "reload", "tail"):
        check(c in got, "_complete does not offer %s: %r" % (c, got))
    check("_names" not in got and "quit" not in got, "hidden commands offered: %r" % got)
    check(fake.methods() == [], "command names asked the daemon")
    check(s(fake, "_complete", "fg", "").stdout.split() == ["web", "w:w_00"], "fg: processes")
    check(s(fake, "_complete", "reload", "").stdout.split() == ["all", "web", "w", "w:*", "w:w_00"],
          "reload: names")
    check(s(fake, "_complete", "update", "").stdout.split() == ["all", "web", "new"],
          "update: the config's groups")
    check(s(fake, "_complete", "maintail", "").stdout.split() == ["-f", "-1600"], "maintail flags")
    check(s(fake, "_complete", "tail", "-f", "web", "").stdout.split() == ["stdout", "stderr"],
          "tail streams after -f NAME")
    check(s(fake, "_complete", "help", "").stdout.split()[0] == "status", "help COMMAND")


if __name__ == "__main__":
    main(globals())
