"""[eventlistener:x]: supervisord's event listener protocol, checked against
Debian's supervisord itself.

A listener written here (Python, text mode, the documented protocol)
records every header and payload it gets. The same supervisord-format
config runs under `supervisord -n` and under superd, and the two
recordings must hold the same events with the same payload fields, in the
same order for each process. Tests that need supervisord skip without it.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Failure, check, poll_until, read_json_lines, read_text, skip, wait_until  # noqa: E402

LISTENER = r'''
import json, os, signal, subprocess, sys, time
# Stopped, it still answers what is already in its pipe, as a real
# listener mid-event would: both daemons send it the last events just
# before they stop it.
signal.signal(signal.SIGTERM, lambda *a: signal.alarm(1))
log = open(os.environ["EVLOG"], "a")
fail_on = os.environ.get("FAIL_ON")        # "EVENTNAME processname:X"
run_on = os.environ.get("RUN_ON")          # the same, with RUN_CMD
garbage_on = os.environ.get("GARBAGE_ON")  # the same: break the protocol
if os.environ.get("GARBAGE_IF_NUM", "0") != "0":
    garbage_on = None
failed = set()

def matches(spec, hdr, payload):
    name, _, needle = spec.partition(" ")
    return hdr["eventname"].startswith(name) and needle in payload

wait = os.environ.get("WAIT_FILE")
while wait and not os.path.exists(wait):
    time.sleep(0.02)
while True:
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        break
    hdr = dict(kv.split(":", 1) for kv in line.split())
    payload = sys.stdin.read(int(hdr["len"]))
    rec = {"hdr": hdr, "payload": payload, "t": time.time()}
    if garbage_on and matches(garbage_on, hdr, payload):
        log.write(json.dumps(dict(rec, garbage=True)) + "\n")
        log.flush()
        sys.stdout.write("this is not the protocol\n" * 1000)
        sys.stdout.flush()
        time.sleep(3600)
    die_on = os.environ.get("DIE_ON")
    if die_on and matches(die_on, hdr, payload) and not os.path.exists(os.environ["EVLOG"] + ".died"):
        open(os.environ["EVLOG"] + ".died", "w").close()
        log.write(json.dumps(dict(rec, died=True)) + "\n")
        log.flush()
        os._exit(1)
    if run_on and matches(run_on, hdr, payload):
        rec["run"] = subprocess.run(os.environ["RUN_CMD"], shell=True,
                                    capture_output=True, timeout=20).returncode
    if fail_on and matches(fail_on, hdr, payload) and hdr["serial"] not in failed:
        failed.add(hdr["serial"])
        rec["answer"] = "FAIL"
        log.write(json.dumps(rec) + "\n")
        log.flush()
        sys.stdout.write("RESULT 4\nFAIL")
    else:
        log.write(json.dumps(rec) + "\n")
        log.flush()
        sys.stdout.write("RESULT 2\nOK")
    sys.stdout.flush()
    if os.environ.get("ONE_EVENT"):
        os._exit(0)
'''

PID_RE = re.compile(r"pid:\d+")


class Daemon:
    """One daemon (superd or supervisord) on one config in its own dir."""

    def __init__(self, sb, kind, sections, listener_env=None):
        self.sb, self.kind = sb, kind
        self.dir = sb.path(kind)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        self.sock = os.path.join(self.dir, "s.sock")
        self.evlog = os.path.join(self.dir, "events.jsonl")
        self.conf = os.path.join(self.dir, "d.conf")
        script = os.path.join(sb.dir, "listener.py")
        if not os.path.exists(script):
            with open(script, "w") as f:
                f.write(LISTENER)
        env = {"EVLOG": self.evlog}
        env.update(listener_env or {})
        self.vars = {"listener": "%s -u %s" % (sys.executable, script),
                     "env": ",".join('%s="%s"' % kv for kv in env.items()),
                     "dir": self.dir, "conf": self.conf}
        text = ("[supervisord]\nnodaemon = true\nlogfile = %(dir)s/main.log\n"
                "pidfile = %(dir)s/d.pid\nchildlogdir = %(dir)s/logs\n"
                "identifier = supervisor\nloglevel = debug\n\n"
                "[unix_http_server]\nfile = %(dir)s/s.sock\n\n"
                "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
                "supervisor.rpcinterface:make_main_rpcinterface\n\n"
                "[supervisorctl]\nserverurl = unix://%(dir)s/s.sock\n\n" % self.vars)
        text += "".join(s % self.vars for s in sections)
        with open(self.conf, "w") as f:
            f.write(text)
        self.proc = None

    def start(self):
        if self.kind == "superd":
            self.proc = self.sb.launch(["-c", self.conf])
        else:
            out = open(os.path.join(self.dir, "sv.out"), "wb")
            self.proc = subprocess.Popen(["supervisord", "-n", "-c", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, cwd=self.dir,
                                         env=self.sb.env(), start_new_session=True)
            out.close()
            self.sb.helpers.append(self.proc)
        self.sb.wait_socket(self.proc if self.kind == "superd" else None,
                            path=self.sock, timeout=15)

    def ctl(self, *args):
        if self.kind == "superd":
            cmd = [os.path.join(harness.BIN, "superctl"), "-s", self.sock]
        else:
            cmd = ["supervisorctl", "-c", self.conf]
        return subprocess.run(cmd + list(args), capture_output=True, text=True,
                              timeout=30, env=self.sb.env())

    def events(self):
        return read_json_lines(self.evlog)

    def wait_events(self, pred, timeout=20, what="events"):
        def ready():
            ev = self.events()
            return ev if pred(ev) else None
        return wait_until(ready, timeout,
                          "%s under %s (got %s)" % (what, self.kind,
                                                     [short(e) for e in self.events()]))

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            raise Failure("%s did not stop on SIGTERM" % self.kind)

    def log(self):
        return read_text(os.path.join(self.dir, "main.log"))


def short(e):
    return "%s %s %s" % (e["hdr"]["serial"], e["hdr"]["eventname"], e["payload"][:60])


def norm(e):
    """An event as compared across daemons: name and payload, pids out."""
    return (e["hdr"]["eventname"], PID_RE.sub("pid:N", e["payload"]))


def procname(e):
    m = re.match(r"processname:(\S+)", e["payload"])
    return m.group(1) if m else None


def has(events, name, needle=""):
    return any(e["hdr"]["eventname"] == name and needle in e["payload"] for e in events)


def need_supervisord():
    if not shutil.which("supervisord") or not shutil.which("supervisorctl"):
        skip("Debian's supervisord is not installed")


def check_headers(d, events, pool):
    """What every header must say: one pool, serials without gaps, len in
    characters (the listener read exactly that many)."""
    prev = None
    for e in events:
        h = e["hdr"]
        check(h["ver"] == "3.0" and h["server"] == "supervisor" and h["pool"] == pool,
              "%s header %s" % (d.kind, h))
        check(int(h["len"]) == len(e["payload"]), "%s len %s" % (d.kind, h))
        if prev is not None and prev.get("answer") != "FAIL":
            check(int(h["serial"]) == int(prev["hdr"]["serial"]) + 1 and
                  int(h["poolserial"]) == int(prev["hdr"]["poolserial"]) + 1,
                  "%s serials after %s: %s" % (d.kind, prev["hdr"], h))
        prev = e


LIFECYCLE = [
    "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_STATE, "
    "SUPERVISOR_STATE_CHANGE, PROCESS_GROUP\nbuffer_size = 100\nstartsecs = 0\n"
    "environment = %(env)s\n\n",
    "[program:ok]\ncommand = sleep 1000\nstartsecs = 1\n\n",
    "[program:crash]\ncommand = sh -c \"sleep 1.5; exit 3\"\nstartsecs = 1\n"
    "autorestart = false\n\n",
    "[program:fast]\ncommand = false\nstartsecs = 1\nstartretries = 1\n\n",
]


def run_lifecycle(d):
    d.start()
    d.wait_events(lambda ev: has(ev, "PROCESS_STATE_FATAL", "processname:fast") and
                  has(ev, "PROCESS_STATE_EXITED", "processname:crash") and
                  has(ev, "PROCESS_STATE_RUNNING", "processname:ok"),
                  what="fast FATAL, crash EXITED, ok RUNNING")
    r = d.ctl("stop", "ok")
    check(r.returncode == 0, "%s: stop ok: %s %s" % (d.kind, r.stdout, r.stderr))
    d.wait_events(lambda ev: has(ev, "PROCESS_STATE_STOPPED", "processname:ok"),
                  what="ok STOPPED")
    d.stop()
    return d.events()


def test_lifecycle_same_as_supervisord(sb):
    need_supervisord()
    got = {}
    for kind in ("supervisord", "superd"):
        d = Daemon(sb, kind, LIFECYCLE)
        got[kind] = (d, run_lifecycle(d))
    (sv, sv_ev), (sd, sd_ev) = got["supervisord"], got["superd"]
    for d, ev in ((sv, sv_ev), (sd, sd_ev)):
        check_headers(d, ev, "lis")
        names = [e["hdr"]["eventname"] for e in ev]
        # Every group, then RUNNING, before any process changes state.
        check(names[:5] == ["PROCESS_GROUP_ADDED"] * 4 + ["SUPERVISOR_STATE_CHANGE_RUNNING"],
              "%s starts with %s" % (d.kind, names[:6]))
        check(names[-1] == "SUPERVISOR_STATE_CHANGE_STOPPING",
              "%s ends with %s" % (d.kind, names[-3:]))
        check(ev[4]["payload"] == "" and ev[-1]["payload"] == "",
              "%s: SUPERVISOR_STATE_CHANGE payloads empty" % d.kind)
        # EXITED and STOPPED carry the pid the process had when RUNNING.
        pids = {}
        for e in ev:
            m = re.search(r"pid:(\d+)", e["payload"])
            if m and e["hdr"]["eventname"] == "PROCESS_STATE_RUNNING":
                pids[procname(e)] = m.group(1)
            elif m:
                check(pids.get(procname(e)) == m.group(1),
                      "%s: %s has the pid of its run %s" % (d.kind, short(e), pids))
    check([norm(e) for e in sv_ev[:5]] == [norm(e) for e in sd_ev[:5]],
          "the start: supervisord %s, superd %s" % ([short(e) for e in sv_ev[:5]],
                                                    [short(e) for e in sd_ev[:5]]))
    for name in ("lis", "ok", "crash", "fast"):
        a = [norm(e) for e in sv_ev if procname(e) == name]
        b = [norm(e) for e in sd_ev if procname(e) == name]
        check(a == b, "events of %s:\nsupervisord %s\nsuperd      %s" % (name, a, b))
    check(sorted(map(norm, sv_ev)) == sorted(map(norm, sd_ev)),
          "the same events overall:\nsupervisord %s\nsuperd      %s"
          % ([short(e) for e in sv_ev], [short(e) for e in sd_ev]))


def run_fail(d):
    d.start()
    d.wait_events(lambda ev: sum(1 for e in ev if has([e], "PROCESS_STATE_RUNNING",
                                                      "processname:ok")) >= 2,
                  what="ok RUNNING twice")
    ev = d.events()
    i = next(i for i, e in enumerate(ev) if e.get("answer") == "FAIL")
    again = ev[i + 1]
    check((again["hdr"]["serial"], again["hdr"]["poolserial"], again["payload"]) ==
          (ev[i]["hdr"]["serial"], ev[i]["hdr"]["poolserial"], ev[i]["payload"]),
          "%s: a FAILed event comes back first, the same: %s then %s"
          % (d.kind, short(ev[i]), short(again)))
    d.stop()
    return ev


def test_fail_gets_the_event_again(sb):
    sections = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_STATE_RUNNING\n"
        "startsecs = 0\nenvironment = %(env)s\n\n",
        "[program:ok]\ncommand = sleep 1000\nstartsecs = 0\n\n",
    ]
    env = {"FAIL_ON": "PROCESS_STATE_RUNNING processname:ok"}
    kinds = ["superd"] + (["supervisord"] if shutil.which("supervisord") else [])
    for kind in kinds:
        d = Daemon(sb, kind, sections, env)
        ev = run_fail(d)
        check_headers(d, ev, "lis")


def test_buffer_overflow_drops_oldest(sb):
    # The listener says READY only once told to: meanwhile the start's
    # events overflow a 2-event buffer. It then gets the newest two, whose
    # pool serials show how many were dropped.
    sections = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_STATE, "
        "PROCESS_GROUP, SUPERVISOR_STATE_CHANGE\nbuffer_size = 2\nstartsecs = 0\n"
        "environment = %(env)s\n\n",
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n",
        "[program:b]\ncommand = sleep 1000\nstartsecs = 0\n\n",
    ]
    kinds = ["superd"] + (["supervisord"] if shutil.which("supervisord") else [])
    for kind in kinds:
        go = sb.path("go-" + kind)
        d = Daemon(sb, kind, sections, {"WAIT_FILE": go})
        d.start()
        # 3 ADDED, RUNNING, 3 STARTING, 3 RUNNING: 10 events, 8 dropped.
        r = poll_until(lambda: "a" in d.ctl("status").stdout and
                       d.ctl("status").stdout.count("RUNNING") == 3, 15)
        check(r, "%s: everything RUNNING: %s" % (kind, d.ctl("status").stdout))
        with open(go, "w"):
            pass
        ev = d.wait_events(lambda ev: len(ev) >= 2, what="the buffered events")
        check(int(ev[0]["hdr"]["poolserial"]) == 8 and int(ev[1]["hdr"]["poolserial"]) == 9,
              "%s: the newest two of ten: %s" % (kind, [short(e) for e in ev]))
        check(all(e["hdr"]["eventname"] == "PROCESS_STATE_RUNNING" for e in ev[:2]),
              "%s: the newest are RUNNING: %s" % (kind, [short(e) for e in ev]))
        check(d.ctl("stop", "a").returncode == 0, "stop a")
        ev = d.wait_events(lambda ev: has(ev, "PROCESS_STATE_STOPPED", "processname:a"),
                           what="a STOPPED")
        check_headers(d, ev, "lis")
        if kind == "superd":
            check("buffer full" in d.log(), "superd warns of the drop: %s" % d.log())
        d.stop()


def test_ticks(sb):
    sections = [
        "[eventlistener:tick]\ncommand = %(listener)s\nevents = TICK_5\nstartsecs = 0\n"
        "environment = %(env)s\n\n",
    ]
    kinds = ["superd"] + (["supervisord"] if shutil.which("supervisord") else [])
    daemons = [Daemon(sb, kind, sections) for kind in kinds]
    for d in daemons:
        d.start()
    for d in daemons:
        ev = d.wait_events(lambda ev: len(ev) >= 2, timeout=16, what="two TICK_5")
        whens = [int(e["payload"].split(":")[1]) for e in ev[:2]]
        check(all(e["hdr"]["eventname"] == "TICK_5" and
                  re.fullmatch(r"when:\d+", e["payload"]) for e in ev[:2]),
              "%s: %s" % (d.kind, [short(e) for e in ev]))
        check(whens[0] % 5 == 0 and whens[1] == whens[0] + 5,
              "%s: whens %s" % (d.kind, whens))
        check(abs(ev[0]["t"] - whens[0]) < 2, "%s: tick on time" % d.kind)
        d.stop()


def test_daemon_answers_while_listener_busy(sb):
    # As superlance's httpok: the listener stops a program from inside its
    # event, through the control socket, before it answers.
    sections = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_STATE\n"
        "startsecs = 0\nenvironment = %(env)s\n\n",
        "[program:ok]\ncommand = sleep 1000\nstartsecs = 1\n\n",
    ]
    d = Daemon(sb, "superd", sections, {
        "RUN_ON": "PROCESS_STATE_RUNNING processname:ok",
        "RUN_CMD": "%s -s %s stop ok" % (os.path.join(harness.BIN, "superctl"),
                                         sb.path("superd", "s.sock"))})
    d.start()
    ev = d.wait_events(lambda ev: has(ev, "PROCESS_STATE_STOPPED", "processname:ok"),
                       what="ok stopped by the listener")
    run = [e for e in ev if "run" in e]
    check(run and run[0]["run"] == 0, "the stop from inside the event worked: %s" % run)
    d.stop()


def test_garbage_is_requeued_to_a_sane_listener(sb):
    # Two listeners in one pool: the first breaks the protocol on ok's
    # RUNNING; that event goes back and the other one gets it. superd's
    # memory stays small whatever the broken one writes.
    sections = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_STATE\n"
        "numprocs = 2\nprocess_name = %%(program_name)s_%%(process_num)d\n"
        "startsecs = 0\nenvironment = %(env)s,GARBAGE_IF_NUM=\"%%(process_num)d\"\n\n",
        "[program:ok]\ncommand = sleep 1000\nstartsecs = 1\n\n",
    ]
    # Listener 0 breaks on the first event it gets; listener 1 never does.
    d = Daemon(sb, "superd", sections, {"GARBAGE_ON": "PROCESS_STATE"})
    d.start()

    def resent(ev):
        broken = [e for e in ev if e.get("garbage")]
        return broken and any(not e.get("garbage") and
                              e["hdr"]["serial"] == broken[0]["hdr"]["serial"]
                              for e in ev)
    # The resend comes after the violation is noticed: wait for it.
    d.wait_events(resent, what="the broken listener's event at the other one")
    wait_until(lambda: "broke the protocol" in d.log(), 5, "the violation logged")
    check(harness.vm_rss_kib(d.proc.pid) < harness.rss_bound_kib(d.proc.pid, 20000),
          "superd's RSS")
    d.stop()


def test_log_events_same_as_supervisord(sb):
    need_supervisord()
    sections = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_LOG\n"
        "buffer_size = 100\nstartsecs = 0\nenvironment = %(env)s\n\n",
        "[program:talk]\ncommand = sh -c \"printf 'h\\303\\251llo\\\\n'; sleep 0.5; "
        "printf 'bad \\377\\\\n' >&2; sleep 0.5; printf 'quiet'; exec sleep 1000\"\n"
        "startsecs = 0\nstdout_events_enabled = true\nstderr_events_enabled = true\n\n",
        "[program:mute]\ncommand = sh -c \"echo not an event; exec sleep 1000\"\n"
        "startsecs = 0\n\n",
    ]
    got = {}
    for kind in ("supervisord", "superd"):
        d = Daemon(sb, kind, sections)
        d.start()
        ev = d.wait_events(lambda ev: len(ev) >= 3, what="three log events")
        d.stop()
        check_headers(d, ev, "lis")
        got[kind] = [norm(e) for e in ev]
    check(got["supervisord"] == got["superd"],
          "log events:\nsupervisord %s\nsuperd      %s" % (got["supervisord"], got["superd"]))
    check(got["superd"][0] == ("PROCESS_LOG_STDOUT", "processname:talk groupname:talk "
                               "pid:N channel:stdout\nh\u00e9llo\n"), got["superd"][0])
    check(got["superd"][1][1].endswith("channel:stderr\nUndecodable: b'bad \\xff\\n'"),
          got["superd"][1])


def test_reload_events_same_as_supervisord(sb):
    """supervisorctl reload: the listener (restarted with everything else)
    sees the same events after it as under supervisord."""
    need_supervisord()
    base = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_GROUP, "
        "SUPERVISOR_STATE_CHANGE, PROCESS_STATE_STARTING\nbuffer_size = 100\n"
        "startsecs = 0\nenvironment = %(env)s\n\n",
        "[program:app]\ncommand = sleep 1000\nstartsecs = 0\n\n",
    ]
    got = {}
    for kind in ("supervisord", "superd"):
        d = Daemon(sb, kind, base)
        d.start()
        d.wait_events(lambda ev: has(ev, "PROCESS_STATE_STARTING", "processname:app"),
                      what="the start")
        # supervisorctl against both: superctl's reload is another thing.
        r = subprocess.run(["supervisorctl", "-s", "unix://" + d.sock, "reload"],
                           capture_output=True, text=True, timeout=30, env=sb.env())
        check(r.returncode == 0, "%s reload: %s %s" % (kind, r.stdout, r.stderr))
        ev = d.wait_events(lambda ev: sum(has([e], "PROCESS_STATE_STARTING",
                                              "processname:app") for e in ev) >= 2,
                           what="app started again")
        d.stop()
        got[kind] = [norm(e) for e in ev]
    check(got["supervisord"] == got["superd"],
          "reload events:\nsupervisord %s\nsuperd      %s"
          % (got["supervisord"], got["superd"]))


def test_group_added_removed_same_as_supervisord(sb):
    need_supervisord()
    base = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_GROUP, "
        "PROCESS_STATE_STOPPED, PROCESS_STATE_STARTING\nbuffer_size = 100\nstartsecs = 0\n"
        "environment = %(env)s\n\n",
        "[program:old]\ncommand = sleep 1000\nstartsecs = 0\n\n",
    ]
    new = "[program:new]\ncommand = sleep 1000\nstartsecs = 0\n\n"
    got = {}
    for kind in ("supervisord", "superd"):
        d = Daemon(sb, kind, base)
        d.start()
        d.wait_events(lambda ev: has(ev, "PROCESS_STATE_STARTING", "processname:old"),
                      what="the start")
        text = read_text(d.conf).replace(base[1], new)
        with open(d.conf, "w") as f:
            f.write(text)
        r = d.ctl("update")
        check(r.returncode == 0, "%s update: %s %s" % (kind, r.stdout, r.stderr))
        ev = d.wait_events(lambda ev: has(ev, "PROCESS_GROUP_REMOVED") and
                           has(ev, "PROCESS_STATE_STARTING", "processname:new"),
                           what="old removed, new started")
        d.stop()
        check_headers(d, ev, "lis")
        got[kind] = [norm(e) for e in ev]
    # superd starts added groups while removed ones still stop, so only
    # each group's own order is the same: ADDED before its processes'
    # events, REMOVED after them.
    def of(events, group):
        return [e for e in events if ("groupname:%s\n" % group) in e[1] + "\n" or
                ("groupname:%s " % group) in e[1]]
    for group in ("lis", "old", "new"):
        check(of(got["supervisord"], group) == of(got["superd"], group),
              "update events of %s:\nsupervisord %s\nsuperd      %s"
              % (group, got["supervisord"], got["superd"]))
    check(sorted(got["supervisord"]) == sorted(got["superd"]),
          "update events:\nsupervisord %s\nsuperd      %s"
          % (got["supervisord"], got["superd"]))


def test_listener_death_requeues(sb):
    # The listener dies in the middle of ok's RUNNING; once restarted it
    # gets that event first, with the same serials, under both daemons.
    sections = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_STATE\n"
        "startsecs = 0\nautorestart = true\nenvironment = %(env)s\n\n",
        "[program:ok]\ncommand = sleep 1000\nstartsecs = 1\n\n",
    ]
    env = {"DIE_ON": "PROCESS_STATE_RUNNING processname:ok"}
    kinds = ["superd"] + (["supervisord"] if shutil.which("supervisord") else [])
    for kind in kinds:
        d = Daemon(sb, kind, sections, env)
        d.start()
        ev = d.wait_events(lambda ev: any(e.get("died") for e in ev) and
                           len([e for e in ev if has([e], "PROCESS_STATE_RUNNING",
                                                     "processname:ok")]) >= 2,
                           what="ok RUNNING again after the death")
        i = next(i for i, e in enumerate(ev) if e.get("died"))
        check((ev[i + 1]["hdr"]["serial"], ev[i + 1]["hdr"]["poolserial"],
               ev[i + 1]["payload"]) == (ev[i]["hdr"]["serial"],
                                         ev[i]["hdr"]["poolserial"], ev[i]["payload"]),
              "%s: the interrupted event first: %s" % (kind, [short(e) for e in ev]))
        d.stop()


def test_rejected_event_stays_in_its_pool(sb):
    # Two pools of the same priority take ok's RUNNING; the first rejects
    # it once. supervisord 4.2 would requeue it into both; superd only into
    # the pool that rejected it.
    sections = [
        "[eventlistener:picky]\ncommand = %(listener)s\nevents = PROCESS_STATE_RUNNING\n"
        "startsecs = 0\nenvironment = %(env)s,FAIL_ON=\"PROCESS_STATE_RUNNING "
        "processname:ok\"\n\n",
        "[eventlistener:calm]\ncommand = %(listener)s\nevents = PROCESS_STATE_RUNNING\n"
        "startsecs = 0\nenvironment = EVLOG=\"%(dir)s/calm.jsonl\"\n\n",
        "[program:ok]\ncommand = sleep 1000\nstartsecs = 1\n\n",
    ]
    d = Daemon(sb, "superd", sections)
    d.start()
    d.wait_events(lambda ev: len([e for e in ev if "processname:ok" in e["payload"]]) >= 2,
                  what="picky's second look at ok RUNNING")
    calm = os.path.join(d.dir, "calm.jsonl")
    wait_until(lambda: "processname:ok" in read_text(calm), 10, "calm gets ok RUNNING")
    # Anything more for calm would have come with picky's retry.
    d.stop()
    got = read_json_lines(calm)
    check(len([e for e in got if "processname:ok" in e["payload"]]) == 1,
          "calm got ok RUNNING once: %s" % [short(e) for e in got])


def test_big_log_events_reach_the_listener_whole(sb):
    # Payloads larger than a pipe: written in pieces as the listener
    # reads, never blocking superd; every byte arrives, in order.
    big = sb.write("big.py", "import sys, time\n"
                   "sys.stdout.write(''.join('%07d\\n' % i for i in range(40000)))\n"
                   "sys.stdout.flush()\ntime.sleep(1000)\n")
    sections = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_LOG_STDOUT\n"
        "buffer_size = 1000\nstartsecs = 0\nenvironment = %(env)s\n\n",
        "[program:big]\ncommand = " + sys.executable + " " + big + "\n"
        "startsecs = 0\nstdout_events_enabled = true\n\n",
    ]
    want = "".join("%07d\n" % i for i in range(40000))

    def data(ev):
        return "".join(e["payload"].split("\n", 1)[1] for e in ev)
    kinds = ["superd"] + (["supervisord"] if shutil.which("supervisord") else [])
    for kind in kinds:
        d = Daemon(sb, kind, sections)
        d.start()
        ev = d.wait_events(lambda ev: len(data(ev)) >= len(want), timeout=30,
                           what="320000 bytes of output")
        check(data(ev) == want, "%s: the output, whole and in order" % kind)
        check_headers(d, ev, "lis")
        check(max(len(e["payload"]) for e in ev) > 65536 or kind == "supervisord",
              "%s: some event is larger than a pipe" % kind)
        d.stop()


def test_listener_exiting_after_each_event(sb):
    # Some listeners answer and exit, to be restarted for the next event:
    # the answer they wrote just before exiting counts, so no event comes
    # twice, under either daemon.
    sections = [
        "[eventlistener:lis]\ncommand = %(listener)s\nevents = PROCESS_STATE\n"
        "startsecs = 0\nautorestart = true\nbuffer_size = 100\n"
        "environment = %(env)s,ONE_EVENT=\"1\"\n\n",
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n",
    ]
    kinds = ["superd"] + (["supervisord"] if shutil.which("supervisord") else [])
    for kind in kinds:
        d = Daemon(sb, kind, sections)
        d.start()
        ev = d.wait_events(lambda ev: len(ev) >= 5, timeout=30, what="five events")
        d.stop()
        serials = [int(e["hdr"]["serial"]) for e in d.events()]
        check(serials == sorted(set(serials)),
              "%s: each event once, in order: %s" % (kind, [short(e) for e in d.events()]))


if __name__ == "__main__":
    harness.main(globals())
