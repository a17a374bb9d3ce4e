"""Differential tests: Debian's supervisorctl against supervisord and
against superd, with the same supervisord-format config and the same
commands; outputs (pids, times, paths normalised) and exit codes must be
identical (SPEC.md section 11, issue 12).

Skipped when supervisord/supervisorctl are not installed.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, wait_until  # noqa: E402

SV = shutil.which("supervisord")
CTL = shutil.which("supervisorctl")

PROGRAMS = """
[program:web]
command=/bin/sh -c 'echo web up; exec sleep 1000'
startsecs=1

[program:worker]
command=/bin/sleep 1000
numprocs=2
process_name=%(program_name)s_%(process_num)02d
startsecs=0

[program:bad]
command=/bin/false
startretries=0

[program:manual]
command=/bin/sleep 1000
autostart=false
startsecs=0

[program:nofile]
command=/usr/bin/superd-test-nope
autostart=false

[program:printer]
command=/bin/sh -c 'echo line one; echo line two; echo to stderr >&2; exec sleep 1000'
startsecs=0
"""


def conf_text(d, extra="", server_auth="", ctl_auth=""):
    return """[unix_http_server]
file=%(d)s/s.sock
%(server_auth)s

[supervisord]
logfile=%(d)s/daemon.log
pidfile=%(d)s/daemon.pid
childlogdir=%(d)s/logs

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%(d)s/s.sock
%(ctl_auth)s
""" % {"d": d, "server_auth": server_auth, "ctl_auth": ctl_auth} + PROGRAMS + extra


def unix_auth(user, password):
    """[unix_http_server] credentials for the daemon, and supervisorctl's."""
    return ("\n[unix_http_server]\nusername=%s\npassword=%s\n" % (user, password),
            "\n[supervisorctl]\nusername=%s\npassword=%s\n" % (user, password))


class Side:
    """One daemon (supervisord or superd) with its own dir and conf."""

    def __init__(self, sb, name):
        self.sb = sb
        self.name = name
        self.dir = sb.path(name)
        os.makedirs(os.path.join(self.dir, "logs"))
        self.conf = os.path.join(self.dir, "d.conf")
        self.write_conf()

    def write_conf(self, extra="", server_auth="", ctl_auth=""):
        with open(self.conf, "w") as f:
            f.write(conf_text(self.dir, extra, server_auth, ctl_auth))

    def start(self):
        if self.name == "sv":
            args = [SV, "-n", "-c", self.conf]
        else:
            args = [os.path.join(harness.BIN, "superd"), "-c", self.conf]
        out = os.path.join(self.dir, "out")
        with open(out, "wb") as o:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=o,
                                    stderr=subprocess.STDOUT, cwd=self.dir,
                                    env=self.sb.env(), start_new_session=True)
        proc.out_path = proc.err_path = out
        self.sb.daemons.append(proc)
        self.proc = proc
        self.sb.wait_socket(proc, os.path.join(self.dir, "s.sock"))

    def ctl(self, *args, timeout=30, input=None):
        r = subprocess.run([CTL, "-c", self.conf] + list(args), capture_output=True,
                           text=True, cwd=self.dir, env=self.sb.env(), timeout=timeout,
                           input=input,
                           stdin=subprocess.DEVNULL if input is None else None)
        return r.returncode, normalise(r.stdout + r.stderr, self.dir)


def normalise(text, d):
    text = text.replace(d, "DIR")
    text = re.sub(r"pid \d+, uptime \d+:\d\d:\d\d", "pid N, uptime T", text)
    text = re.sub(r"[A-Z][a-z][a-z] \d\d \d\d:\d\d [AP]M", "DATE", text)
    text = re.sub(r"(?m)^\d+$", "N", text)
    return text


def pair(sb, server_auth="", ctl_auth=""):
    if SV is None or CTL is None:
        harness.skip("supervisord/supervisorctl not installed")
    sides = [Side(sb, "sv"), Side(sb, "sd")]
    for s in sides:
        if server_auth:
            s.write_conf("", server_auth, ctl_auth)
        s.start()
    want = {"bad": "FATAL", "web": "RUNNING", "worker:worker_00": "RUNNING",
            "worker:worker_01": "RUNNING", "printer": "RUNNING"}
    for s in sides:
        def settled(s=s):
            _, out = s.ctl("status")
            states = dict(line.split()[:2] for line in out.splitlines() if line.strip())
            return all(states.get(k) == v for k, v in want.items())
        wait_until(settled, 15, "%s to settle" % s.name, interval=0.2)
    return sides


def reaped_any_order(result):
    """supervisord lists the processes of one stop as it reaps them, so
    the order of a run of "NAME: stopped" lines varies from run to run
    under supervisord itself: each such run is compared sorted."""
    rc, text = result
    out, run = [], []
    for line in text.split("\n"):
        if line.rstrip().endswith(": stopped"):
            run.append(line)
            continue
        out += sorted(run) + [line]
        run = []
    return rc, "\n".join(out + sorted(run))


def same(sides, *args, input=None, stops_reaped=False):
    a = sides[0].ctl(*args, input=input)
    b = sides[1].ctl(*args, input=input)
    if stops_reaped:
        a, b = reaped_any_order(a), reaped_any_order(b)
    check(a == b, "supervisorctl %s differs:\nsupervisord: %r\nsuperd:      %r"
          % (" ".join(args), a, b))
    return a


def test_status_start_stop(sb):
    sides = pair(sb)
    rc, out = same(sides, "status")
    check(rc == 3 and "FATAL" in out, out)
    same(sides, "status", "web")
    same(sides, "status", "nosuch")
    same(sides, "status", "worker:*")
    same(sides, "stop", "web")
    same(sides, "stop", "web")
    same(sides, "start", "web")
    same(sides, "start", "web")
    same(sides, "restart", "worker:*", stops_reaped=True)
    same(sides, "stop", "worker", stops_reaped=True)
    same(sides, "start", "worker:*")
    same(sides, "start", "bad")
    same(sides, "start", "nofile")
    same(sides, "start", "nosuch")
    same(sides, "stop", "nosuch")
    same(sides, "start", "manual")
    same(sides, "stop", "manual")
    same(sides, "pid", "web")
    same(sides, "pid", "manual")
    same(sides, "pid")
    same(sides, "avail")
    same(sides, "status")


def test_start_all_order_remove_add(sb):
    """start all lists what supervisord lists at once (errors, startsecs=0
    programs) before what it waited for; remove takes a group out of the
    running set even when the config still has it, and add brings it
    back and starts it."""
    sides = pair(sb)
    # (stop all is not compared: supervisord lists stops as it reaps.)
    for s in sides:
        check(s.ctl("stop", "all")[0] == 0, "stop all")
    same(sides, "start", "all")
    same(sides, "stop", "web")
    same(sides, "remove", "web")
    same(sides, "status", "web")
    same(sides, "avail")
    same(sides, "add", "web")
    for s in sides:
        wait_until(lambda s=s: "RUNNING" in s.ctl("status", "web")[1], 10,
                   "web running again")
    same(sides, "status", "web")
    same(sides, "add", "web")
    same(sides, "remove", "worker")
    same(sides, "remove", "nosuch")
    same(sides, "reread")
    same(sides, "update")
    for s in sides:
        wait_until(lambda s=s: s.ctl("status", "worker:*")[1].count("RUNNING") == 2,
                   10, "workers back")
    same(sides, "status", "worker:*")


ORDERED = """
[program:zeta]
command=/bin/sleep 1000
startsecs=0
priority=1

[program:beta]
command=/bin/sleep 1000
startsecs=0
autostart=false

[program:alpha]
command=/bin/sleep 1000
startsecs=0
autostart=false

[program:gamma]
command=/bin/sleep 1000
startsecs=0
priority=5
autostart=false

[group:grp]
programs=beta,alpha,gamma
"""


def test_listing_orders(sb):
    """status lists lexically (group, then name), avail by process name,
    group and all operations by priority then name, whatever order a
    [group:x] names its programs in and whatever the priorities."""
    global PROGRAMS
    saved = PROGRAMS
    PROGRAMS = saved + ORDERED
    try:
        sides = pair(sb)
    finally:
        PROGRAMS = saved
    same(sides, "status")
    same(sides, "avail")
    same(sides, "start", "grp:*")
    same(sides, "status", "grp:*")
    # (stops are listed as supervisord reaps them: not compared)
    for s in sides:
        check(s.ctl("stop", "grp:*")[0] == 0, "stop grp:*")
    same(sides, "start", "grp:alpha", "zeta", "grp:beta")
    for s in sides:
        check(s.ctl("stop", "zeta")[0] == 0, "stop zeta")
    same(sides, "start", "all")


def test_signal_clear_tail(sb):
    sides = pair(sb)
    same(sides, "signal", "HUP", "worker:*")
    same(sides, "signal", "USR1", "manual")
    same(sides, "signal", "NOPE", "web")
    same(sides, "signal", "HUP", "nosuch")
    same(sides, "tail", "printer")
    same(sides, "tail", "printer", "stderr")
    same(sides, "tail", "-5", "printer")
    same(sides, "tail", "nosuch")
    same(sides, "clear", "printer")
    same(sides, "tail", "printer")
    for s in sides:
        rc, out = s.ctl("maintail")
        check(rc == 0 and out.strip(), "%s maintail: %r" % (s.name, out))


def test_tail_follow(sb):
    sides = pair(sb)
    outs = []
    for s in sides:
        p = subprocess.Popen([CTL, "-c", s.conf, "tail", "-f", "printer"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=sb.env(), start_new_session=True)
        sb.helpers.append(p)
        lines = []
        deadline = time.monotonic() + 10
        while len(lines) < 3 and time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line.decode())
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        outs.append(lines)
    check(outs[0] == outs[1], "tail -f differs: %r vs %r" % tuple(outs))
    check(any("line two" in x for x in outs[1]), outs[1])


def test_reread_update(sb):
    sides = pair(sb)
    same(sides, "reread")
    extra = "\n[program:extra]\ncommand=/bin/sleep 1000\nstartsecs=0\n"
    for s in sides:
        s.write_conf(extra)
    same(sides, "reread")
    same(sides, "avail")   # extra: read, not yet in use
    same(sides, "update")
    for s in sides:
        wait_until(lambda s=s: "RUNNING" in s.ctl("status", "extra")[1], 10,
                   "extra running")
    same(sides, "status", "extra")
    for s in sides:
        s.write_conf("")
    same(sides, "reread")
    same(sides, "update")
    same(sides, "status", "extra")
    # An edited program: changed, stopped, updated, running again.
    global PROGRAMS
    saved = PROGRAMS
    PROGRAMS = PROGRAMS.replace("echo web up;", "echo web edited;")
    try:
        for s in sides:
            s.write_conf("")
    finally:
        PROGRAMS = saved
    same(sides, "reread")
    same(sides, "update")
    for s in sides:
        wait_until(lambda s=s: "RUNNING" in s.ctl("status", "web")[1], 10, "web running")
    # (No tail here: supervisord starts a new log file for the new
    # process, superd keeps the program's output across the update.)
    same(sides, "status", "web")
    same(sides, "update")


def pids(side):
    r = subprocess.run([CTL, "-c", side.conf, "pid", "all"], capture_output=True,
                       text=True, env=side.sb.env(), timeout=30)
    return [int(x) for x in r.stdout.split() if x.isdigit() and int(x) > 0]


def test_reload_restarts_everything(sb):
    """supervisorctl reload (supervisor.restart): every program stops and
    starts again with the config read anew; the daemon's pid stays."""
    sides = pair(sb)
    before = [pids(s) for s in sides]
    check(all(len(b) == 4 for b in before), before)
    extra = "\n[program:extra]\ncommand=/bin/sleep 1000\nstartsecs=0\n"
    for s in sides:
        s.write_conf(extra)
    same(sides, "reload", "now")
    same(sides, "reload")
    want = {"web": "RUNNING", "extra": "RUNNING", "manual": "STOPPED",
            "printer": "RUNNING", "worker:worker_00": "RUNNING"}
    for s in sides:
        def settled(s=s):
            rc, out = s.ctl("status")
            states = dict(line.split()[:2] for line in out.splitlines()
                          if len(line.split()) >= 2)
            return all(states.get(k) == v for k, v in want.items())
        wait_until(settled, 20, "%s to come back" % s.name, interval=0.2)
    for i, s in enumerate(sides):
        after = pids(s)
        check(not set(after) & set(before[i]),
              "%s: pids kept across reload: %s %s" % (s.name, before[i], after))
        check(s.proc.poll() is None, "%s: the daemon itself went away" % s.name)
    same(sides, "status", "extra")
    same(sides, "status", "web")


def test_interactive(sb):
    sides = pair(sb)
    rc, out = same(sides, input="status web\nstop web\nstart web\nstatus nosuch\n"
                   "pid manual\nhelp stop\n")
    check("web: started" in out, out)


def test_unix_http_auth(sb):
    server, ctl = unix_auth("alice", "pw")
    sides = pair(sb, server, ctl)
    same(sides, "status", "web")
    same(sides, "stop", "web")
    for s in sides:
        s.write_conf("", server, unix_auth("alice", "wrong")[1])
    rc, out = same(sides, "status", "web")
    check(rc != 0, out)
    for s in sides:
        s.write_conf("", server, "")
    same(sides, "stop", "worker:*", stops_reaped=True)


if __name__ == "__main__":
    harness.main(globals())
