"""superctl reexec (issue 13, SPEC.md section 13): superd re-executes the
binary at the path it was started from and keeps its pid, its children,
their log pipes, the held sockets, the control socket, states, times and
counters. Under load: a program printing a numbered line every 10 ms and
a held-socket server with a client connecting in a loop. Every wait is a
poll with a deadline."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Failure, check, free_port, program, read_json_lines, read_text, wait_until  # noqa: E402

PY = sys.executable

COUNTER = """import itertools, sys, time
for i in itertools.count():
    sys.stdout.write("%d\\n" % i)
    sys.stdout.flush()
    time.sleep(0.01)
"""

SERVER = """import socket
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.sendall(b"ok\\n")
    c.close()
"""


def setup(sb, extra=""):
    """counter (numbered lines into a log file), server (held socket),
    and whatever `extra` adds. Returns (port, counter log path)."""
    port = free_port()
    sb.write("counter.py", COUNTER)
    sb.write("server.py", SERVER)
    log = sb.path("logs", "counter.log")
    sb.config(program("counter", "%s %s" % (PY, sb.path("counter.py")),
                      startsecs=1, stdout_logfile=log),
              program("server", "%s %s" % (PY, sb.path("server.py")),
                      socket="tcp://127.0.0.1:%d" % port),
              extra)
    return port, log


def launch_copy(sb, exe, env=None):
    """superd started from `exe` (a copy of the built one)."""
    n = len(sb.daemons)
    out, err = sb.path("superd-%d.out" % n), sb.path("superd-%d.err" % n)
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen([exe, "-c", sb.conf], stdin=subprocess.DEVNULL,
                                stdout=o, stderr=e, cwd=sb.dir, env=sb.env(env),
                                start_new_session=True)
    proc.out_path, proc.err_path = out, err
    sb.daemons.append(proc)
    sb.wait_socket(proc)
    sb.daemon = proc
    return proc


def copy_binary(src, dst):
    """Replace dst by a copy of src the way an installer does: a new file
    renamed over the old one (the running image keeps the old inode)."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, dst)


def reexecs(sb):
    return sb.log().count("re-executed (pid")


def reexec(sb):
    """daemon.reexec, then wait until the new image answers."""
    before = read_text(sb.daemon.err_path).count("re-executed (pid")
    sb._client = None   # connections are closed by the exec
    c = sb.rpc()
    result = c.call("daemon.reexec", timeout=15)
    check(result["pid"] == sb.daemon.pid, "reexec answered for pid %r" % result)

    def back():
        if sb.daemon.poll() is not None:
            raise Failure("superd exited during the reexec: %s" % sb.log())
        if read_text(sb.daemon.err_path).count("re-executed (pid") <= before:
            return False
        try:
            return sb.rpc().call("daemon.info")
        except (OSError, harness.RpcError, Failure):
            return False
    return wait_until(back, 15, "the re-executed superd to answer")


def snapshot(sb):
    return {p["name"]: p for p in sb.rpc().call("process.list")}


class Hammer:
    """Connects to the held socket in a loop; counts answers and errors."""

    def __init__(self, port):
        self.port = port
        self.ok = 0
        self.errors = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    data = b""
                    while not data.endswith(b"\n"):
                        chunk = s.recv(16)
                        if not chunk:
                            break
                        data += chunk
                    if data == b"ok\n":
                        self.ok += 1
                    else:
                        self.errors.append("answer %r" % data)
            except OSError as e:
                self.errors.append(str(e))
            time.sleep(0.002)

    def finish(self):
        self.stop = True
        self.thread.join(10)


def check_numbered(path):
    """Every complete line is the next number: no gap, no torn line."""
    text = read_text(path)
    lines = text.split("\n")[:-1]   # the last one may be on its way
    check(len(lines) > 10, "only %d lines in %s" % (len(lines), path))
    for i, line in enumerate(lines):
        if line != str(i):
            raise Failure("line %d of %s is %r (around: %r)"
                          % (i, path, line, lines[max(0, i - 2):i + 3]))
    return len(lines)


def lines_grow(path, n):
    wait_until(lambda: len(read_text(path).split("\n")) > n + 20, 10,
               "the counter's log to grow past %d lines" % n)


def test_reexec_under_load_keeps_everything(sb):
    port, log = setup(sb, program("oneshot", "true", autorestart="false"))
    sb.start()
    pids = sb.wait_running("counter", "server")
    sb.wait_state("oneshot", "EXITED")
    hammer = Hammer(port)
    wait_until(lambda: hammer.ok > 20, 10, "the server to answer")
    lines_grow(log, 100)
    before = snapshot(sb)
    info_before = sb.rpc().call("daemon.info")
    for _ in range(3):
        reexec(sb)
        lines_grow(log, check_numbered(log))
    ok_before = hammer.ok
    wait_until(lambda: hammer.ok > ok_before + 20, 10, "the server to answer after reexec")
    hammer.finish()
    after = snapshot(sb)
    info = sb.rpc().call("daemon.info")
    check(info["pid"] == sb.daemon.pid == info_before["pid"], "superd's pid changed")
    check(info["uptime_s"] >= info_before["uptime_s"], "superd's uptime was reset: %r" % info)
    for name in ("counter", "server"):
        check(after[name]["pid"] == pids[name],
              "%s: pid %r became %r" % (name, pids[name], after[name]["pid"]))
        check(after[name]["state"] == "RUNNING", "%s is %s" % (name, after[name]["state"]))
        check(after[name]["start_time"] == before[name]["start_time"],
              "%s: start_time changed" % name)
        check(after[name]["uptime_s"] >= before[name]["uptime_s"],
              "%s: uptime reset (%r -> %r)" % (name, before[name]["uptime_s"],
                                              after[name]["uptime_s"]))
    for key in ("state", "exitstatus", "stop_time", "start_time"):
        check(after["oneshot"][key] == before["oneshot"][key],
              "oneshot: %s %r became %r" % (key, before["oneshot"][key], after["oneshot"][key]))
    check(not hammer.errors, "%d connections failed: %s" % (len(hammer.errors), hammer.errors[:3]))
    check(hammer.ok > 40, "only %d connections" % hammer.ok)
    check_numbered(log)
    # The children are still superd's: a kill is seen and restarts it.
    os.kill(pids["counter"], 9)
    wait_until(lambda: snapshot(sb)["counter"]["pid"] not in (0, pids["counter"]), 10,
               "counter to be restarted by the re-executed superd")
    check("ERROR" not in read_text(sb.daemon.err_path), "errors logged: %s" % sb.log())


def test_reexec_keeps_backoff_and_fatal(sb):
    setup(sb, program("crash", "false", startsecs=1, startretries=2) +
          program("later", "sleep 1000", autostart="false"))
    sb.start()
    sb.wait_state("crash", "FATAL", timeout=20)
    before = snapshot(sb)
    reexec(sb)
    after = snapshot(sb)
    for key in ("state", "description", "stop_time", "exitstatus"):
        check(after["crash"].get(key) == before["crash"].get(key),
              "crash: %s %r became %r" % (key, before["crash"].get(key), after["crash"].get(key)))
    check(after["later"]["state"] == "STOPPED", "later: %s" % after["later"]["state"])
    r = sb.ctl("start", "later")
    check(r.returncode == 0, "start after reexec: %s %s" % (r.stdout, r.stderr))
    sb.wait_running("later")


def test_reexec_keeps_the_daemon_log(sb):
    """maintail after a reexec still shows what the old image logged,
    before what the new one logged, with no gap in the offsets."""
    setup(sb, program("later", "sleep 1000", autostart="false"))
    sb.start()
    sb.wait_running("counter")
    r = sb.ctl("start", "later")
    check(r.returncode == 0, r.stderr)
    before = sb.ctl("maintail").stdout
    check("later: RUNNING" in before, "maintail before: %r" % before[-500:])
    reexec(sb)
    after = wait_until(lambda: (lambda out: "restored" in out and out)(
        sb.ctl("maintail").stdout), 10, "the new image's log line")
    check("later: RUNNING" in after, "the old lines are gone: %r" % after[-800:])
    check(after.index("later: RUNNING") < after.index("restored"),
          "old lines after new ones: %r" % after[-800:])


def test_reexec_picks_up_the_new_binary(sb):
    setup(sb)
    exe = sb.path("bin", "superd")
    os.makedirs(os.path.dirname(exe))
    copy_binary(os.path.join(harness.BIN, "superd"), exe)
    proc = launch_copy(sb, exe)
    pids = sb.wait_running("counter", "server")
    copy_binary(os.path.join(harness.BIN, "superd"), exe)
    check(os.readlink("/proc/%d/exe" % proc.pid).endswith("(deleted)"),
          "the replaced binary is not shown as deleted: the test proves nothing")
    r = sb.ctl("reexec")
    check(r.returncode == 0, "superctl reexec: %s %s" % (r.stdout, r.stderr))
    check("re-executing" in r.stdout, "superctl reexec said %r" % r.stdout)
    wait_until(lambda: reexecs(sb) >= 1, 10, "the new image")
    link = wait_until(lambda: os.readlink("/proc/%d/exe" % proc.pid) == exe and exe, 10,
                      "/proc/PID/exe to be the new binary")
    check(link == exe, "exe is %s" % link)
    sb.wait_socket(proc)
    after = snapshot(sb)
    check({n: after[n]["pid"] for n in pids} == pids, "pids changed: %r" % after)


NOTIFIER = """import os, socket, sys, time
flag = sys.argv[1]
while not os.path.exists(flag):
    time.sleep(0.02)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
time.sleep(1000)
"""


def test_reexec_while_starting_keeps_timers_and_notify_socket(sb):
    """A process in STARTING keeps what it waits for: the startsecs timer
    goes on with the time that was left (not a fresh one), and a
    ready=notify program's NOTIFY_SOCKET still reaches superd."""
    flag = sb.path("go")
    sb.write("notifier.py", NOTIFIER)
    sb.config(program("slow", "sleep 1000", startsecs=4),
              program("notif", "%s %s %s" % (PY, sb.path("notifier.py"), flag),
                      ready="notify", ready_timeout=60))
    sb.start()
    slow, _ = sb.wait_state("slow", "STARTING")
    started = time.monotonic()
    notif, _ = sb.wait_state("notif", "STARTING")
    wait_until(lambda: time.monotonic() - started > 2.0, 5, "2 s of startsecs")
    reexec(sb)
    after = snapshot(sb)
    check(after["slow"]["state"] == "STARTING", "slow: %s" % after["slow"]["state"])
    sb.wait_state("slow", "RUNNING", timeout=8)
    took = time.monotonic() - started
    check(took < 5.5, "startsecs=4 was restarted by the reexec: RUNNING after %.1f s" % took)
    check(snapshot(sb)["slow"]["pid"] == slow["pid"], "slow was restarted")
    with open(flag, "w"):
        pass
    p, _ = sb.wait_state("notif", "RUNNING", timeout=10)
    check(p["pid"] == notif["pid"], "notif was restarted")


def test_reexec_keeps_the_inet_http_listener(sb):
    """[inet_http_server] is handed over like the control socket: a
    client connecting in a loop is never refused."""
    port = free_port()
    setup(sb, harness.section("inet_http_server", port="127.0.0.1:%d" % port))
    sb.start()
    sb.wait_running("counter", "server")
    counts = {"ok": 0, "refused": 0, "other": []}
    stop = []

    def loop():
        while not stop:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    counts["ok"] += 1
            except ConnectionRefusedError:
                counts["refused"] += 1
            except OSError as e:
                counts["other"].append(str(e))
            time.sleep(0.001)
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    wait_until(lambda: counts["ok"] > 20, 10, "the HTTP port to accept")
    for _ in range(3):
        reexec(sb)
    ok = counts["ok"]
    wait_until(lambda: counts["ok"] > ok + 20, 10, "the HTTP port to accept after reexec")
    stop.append(True)
    t.join(10)
    check(counts["refused"] == 0, "%d connections refused" % counts["refused"])
    check(not counts["other"], "connections failed: %s" % counts["other"][:3])
    check("http: [inet_http_server] listening" in read_text(sb.daemon.err_path),
          "no listener: the test proves nothing")
    check(read_text(sb.daemon.err_path).count("bind") == 0, "bound again: %s" % sb.log())


def test_reexec_of_a_daemonized_superd_with_a_relative_config(sb):
    """superd -d -c superd.conf (relative) went to / when it forked: the
    new image gets the config's absolute path and does not fork again."""
    port, log = setup(sb)
    proc = sb.launch(["-d", "-c", "superd.conf"])
    check(proc.wait(15) == 0, "superd -d failed: %s" % sb.log(proc))
    sb.wait_socket()
    pid = int(wait_until(lambda: read_text(sb.path("superd.pid")).strip(), 10, "the pidfile"))
    pids = sb.wait_running("counter", "server")
    r = sb.ctl("reexec")
    check(r.returncode == 0, "reexec: %s %s" % (r.stdout, r.stderr))
    sb._client = None

    def back():
        try:
            info = sb.rpc().call("daemon.info")
        except (OSError, harness.RpcError, Failure):
            return None
        cmd = read_text("/proc/%d/cmdline" % pid)
        return info if "--reexec-state" in cmd else None
    info = wait_until(back, 15, "the re-executed superd")
    check(info["pid"] == pid, "pid %r, was %d" % (info["pid"], pid))
    check(harness.proc_stat(pid)[1] != os.getpid(), "forked again")
    after = snapshot(sb)
    check({n: after[n]["pid"] for n in pids} == pids, "pids changed: %r" % after)
    check(os.readlink("/proc/%d/cwd" % pid) == "/", "cwd is not /")
    lines_grow(log, check_numbered(log))


LISTENER = """import json, os, sys
log = open(os.environ["EVLOG"], "a")
while True:
    sys.stdout.write("READY\\n")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        break
    hdr = dict(kv.split(":", 1) for kv in line.split())
    payload = sys.stdin.read(int(hdr["len"]))
    log.write(json.dumps({"hdr": hdr, "payload": payload}) + "\\n")
    log.flush()
    sys.stdout.write("RESULT 2\\nOK")
    sys.stdout.flush()
"""


def test_reexec_keeps_event_listeners_listening(sb):
    """An [eventlistener] that said READY before the reexec gets the
    events after it, with serials that go on."""
    evlog = sb.path("events.jsonl")
    sb.write("listener.py", LISTENER)
    sb.config(harness.section("eventlistener:lis",
                              command="%s %s" % (PY, sb.path("listener.py")),
                              events="PROCESS_STATE", environment="EVLOG=%s" % evlog),
              program("victim", "sleep 1000"))
    sb.start()

    def events():
        return read_json_lines(evlog)

    def seen(name, state):
        return [e for e in events() if e["hdr"]["eventname"] == "PROCESS_STATE_" + state
                and "processname:%s " % name in e["payload"]]
    wait_until(lambda: seen("victim", "RUNNING"), 10, "the listener to see victim RUNNING")
    lis = sb.wait_running("lis")
    last = max(int(e["hdr"]["serial"]) for e in events())
    reexec(sb)
    r = sb.ctl("stop", "victim")
    check(r.returncode == 0, "stop: %s %s" % (r.stdout, r.stderr))
    got = wait_until(lambda: seen("victim", "STOPPED"), 10,
                     "the listener to see victim STOPPED after the reexec")
    check(int(got[0]["hdr"]["serial"]) > last,
          "serial %s after %d: serials started over" % (got[0]["hdr"]["serial"], last))
    check(sb.wait_running("lis") == lis, "the listener was restarted")


def metric(sb, family, name):
    """One sample of /metrics (over the control socket) for process name."""
    conn = harness.UnixHTTP(sb.sock)
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    conn.close()
    for line in body.splitlines():
        if line.startswith(family + "{") and 'name="%s"' % name in line:
            return float(line.rsplit(" ", 1)[1])
    raise Failure("no %s for %s in /metrics" % (family, name))


def test_reexec_keeps_counters(sb):
    """Restart and log byte counters go on from where they were."""
    port, log = setup(sb, program("flaky", "sleep 1000"))
    sb.start()
    pids = sb.wait_running("flaky", "counter")
    os.kill(pids["flaky"], 9)
    wait_until(lambda: snapshot(sb)["flaky"]["pid"] not in (0, pids["flaky"]), 10,
               "flaky to be restarted")
    sb.wait_running("flaky")
    check(metric(sb, "superd_process_restarts_total", "flaky") == 1, "no restart counted")
    lines_grow(log, 30)
    logged = metric(sb, "superd_log_bytes_total", "counter")
    reexec(sb)
    check(metric(sb, "superd_process_restarts_total", "flaky") == 1,
          "restarts of flaky: %r after the reexec"
          % metric(sb, "superd_process_restarts_total", "flaky"))
    check(metric(sb, "superd_log_bytes_total", "counter") >= logged,
          "log bytes of counter started over")


def test_failing_reexec_keeps_everything_running(sb):
    port, log = setup(sb)
    exe = sb.path("bin", "superd")
    os.makedirs(os.path.dirname(exe))
    copy_binary(os.path.join(harness.BIN, "superd"), exe)
    proc = launch_copy(sb, exe)
    pids = sb.wait_running("counter", "server")
    lines_grow(log, 20)
    # A binary that does not start: a script exiting 1.
    sb.write("bin/superd.new", "#!/bin/sh\nexit 1\n", 0o755)
    os.rename(exe + ".new", exe)
    r = sb.ctl("reexec")
    check(r.returncode != 0, "reexec of a broken binary succeeded: %s" % r.stdout)
    check("exited with status 1" in r.stderr + r.stdout, "no reason given: %r" % (r.stderr + r.stdout))
    # No binary at all.
    os.unlink(exe)
    r = sb.ctl("reexec")
    check(r.returncode != 0, "reexec of a missing binary succeeded: %s" % r.stdout)
    check("No such file" in r.stderr + r.stdout, "no reason given: %r" % (r.stderr + r.stdout))
    check(proc.poll() is None, "superd exited")
    after = snapshot(sb)
    check({n: after[n]["pid"] for n in pids} == pids, "pids changed: %r" % after)
    check(all(after[n]["state"] == "RUNNING" for n in pids), "states: %r" % after)
    n = check_numbered(log)
    lines_grow(log, n)
    check_numbered(log)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        check(s.recv(16) == b"ok\n", "the server does not answer")
    check(reexecs(sb) == 0, "superd re-executed after all")


def cloexec_fds(pid):
    """fd -> True when close-on-exec, for every fd of pid above 2."""
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        if int(fd) <= 2:
            continue
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                flags = int(f.read().split("flags:")[1].split()[0], 8)
        except (OSError, IndexError):
            continue
        out[int(fd)] = bool(flags & 0o2000000)
    return out


def test_failed_exec_restores_cloexec_and_carries_on(sb):
    """The exec itself fails after everything was prepared (a test-only
    variable): superd logs it, sets close-on-exec again on every fd it
    was going to hand over, closes the memfd, and goes on."""
    port, log = setup(sb)
    sb.start(env={"SUPERD_TEST_REEXEC_FAIL_EXEC": "1"})
    pids = sb.wait_running("counter", "server")
    pid = sb.daemon.pid
    before = cloexec_fds(pid)
    check(all(before.values()), "an fd without close-on-exec before: %r" % before)
    sb._client = None
    c = sb.rpc()
    c.call("daemon.reexec", timeout=15)
    wait_until(lambda: "cannot execute" in read_text(sb.daemon.err_path), 10,
               "the failed exec to be logged")
    check(sb.daemon.poll() is None, "superd exited")
    after = cloexec_fds(pid)
    check(all(after.values()), "fds left without close-on-exec: %r"
          % sorted(fd for fd, on in after.items() if not on))
    links = [os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in after]
    check(not [l for l in links if l.startswith("/memfd:")], "the memfd is left open: %r" % links)
    now = snapshot(sb)
    check({n: now[n]["pid"] for n in pids} == pids, "pids changed: %r" % now)
    n = check_numbered(log)
    lines_grow(log, n)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        check(s.recv(16) == b"ok\n", "the server does not answer")
    r = sb.ctl("status")
    check(r.returncode == 0, "status after the failed exec: %s" % r.stdout)


def test_reexec_refused_while_the_config_differs(sb):
    setup(sb)
    sb.start()
    sb.wait_running("counter", "server")
    with open(sb.conf, "a") as f:
        f.write(program("extra", "sleep 1000"))
    r = sb.ctl("reexec")
    check(r.returncode != 0, "reexec with a changed config succeeded")
    check("superctl update" in r.stderr + r.stdout, "no advice given: %r" % (r.stderr + r.stdout))
    check(reexecs(sb) == 0, "superd re-executed after all")


def test_unreadable_state_adopts_the_programs(sb):
    """The old image writes half the state (a test-only variable): the new
    one cannot read it, finds its children in /proc and adopts them with
    their log pipes and held socket; nothing is killed or restarted."""
    catlog = sb.path("logs", "cat.log")
    hport = free_port()
    port, log = setup(sb, program("cat", "cat", stdin="pipe", stdout_logfile=catlog) +
                      harness.section("inet_http_server", port="127.0.0.1:%d" % hport))
    sb.start(env={"SUPERD_TEST_REEXEC_TRUNCATE": "1"})
    pids = sb.wait_running("counter", "server", "cat")
    lines_grow(log, 50)
    reexec(sb)
    check("unreadable" in read_text(sb.daemon.err_path), "no complaint: %s" % sb.log())
    after = snapshot(sb)
    for name in pids:
        check(after[name]["pid"] == pids[name], "%s: pid changed: %r" % (name, after[name]))
        check(after[name]["state"] == "RUNNING", "%s is %s" % (name, after[name]["state"]))
        check(after[name]["uptime_s"] >= 1, "%s: uptime starts from zero" % name)
    # Its output still reaches the log (the pipe was found), whole lines.
    n = check_numbered(log)
    lines_grow(log, n)
    check_numbered(log)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        check(s.recv(16) == b"ok\n", "the server does not answer")
    # So was the HTTP listener: not bound again, still accepting.
    check("without the HTTP listener" not in read_text(sb.daemon.err_path), sb.log())
    socket.create_connection(("127.0.0.1", hport), timeout=5).close()
    # Its stdin pipe was found too.
    sb.rpc().call("process.stdin", {"name": "cat", "data": "hello\n"})
    wait_until(lambda: read_text(catlog) == "hello\n", 10, "cat to echo its stdin")
    # Supervised again: a stop stops it.
    r = sb.ctl("stop", "counter")
    check(r.returncode == 0, "stop after adoption: %s %s" % (r.stdout, r.stderr))
    wait_until(lambda: not harness.alive(pids["counter"]), 10, "counter to be gone")


harness.main(globals())
