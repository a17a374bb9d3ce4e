"""supervisord's XML-RPC interface on superd, through Python's
xmlrpc.client with supervisor's own SupervisorTransport: structures,
fault codes and system.listMethods compared with Debian's supervisord;
[inet_http_server] basic auth; load and hostile clients.
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, wait_until  # noqa: E402
from test_supervisorctl import Side, SV  # noqa: E402

try:
    from supervisor.xmlrpc import SupervisorTransport
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from supervisor.xmlrpc import SupervisorTransport
    except ImportError:
        SupervisorTransport = None

INFO_KEYS = {"name", "group", "start", "stop", "now", "state", "statename",
             "spawnerr", "exitstatus", "logfile", "stdout_logfile",
             "stderr_logfile", "pid", "description"}


def proxy(sock, user=None, password=None):
    if SupervisorTransport is None:
        harness.skip("supervisor's Python package is not installed")
    t = SupervisorTransport(user, password, "unix://" + sock)
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=t)


def fault(fn, *args):
    try:
        fn(*args)
    except xmlrpc.client.Fault as e:
        return e.faultCode
    return None


def superd_side(sb, extra=""):
    s = Side(sb, "sd")
    if extra:
        s.write_conf(extra)
    s.start()
    p = proxy(os.path.join(s.dir, "s.sock"))
    wait_until(lambda: p.supervisor.getProcessInfo("web")["statename"] == "RUNNING",
               10, "web running")
    return s, p


def test_structures_and_faults(sb):
    s, p = superd_side(sb)
    check(p.supervisor.getAPIVersion() == "3.0", "API version")
    check(p.supervisor.getState() == {"statecode": 1, "statename": "RUNNING"}, "state")
    info = p.supervisor.getProcessInfo("web")
    check(set(info) == INFO_KEYS, "info keys %s" % sorted(info))
    check(info["description"].startswith("pid %d, uptime 0:00:" % info["pid"]),
          info["description"])
    check(info["name"] == "web" and info["group"] == "web" and info["state"] == 20, info)
    w = p.supervisor.getProcessInfo("worker:worker_01")
    check(w["name"] == "worker_01" and w["group"] == "worker", w)
    allinfo = p.supervisor.getAllProcessInfo()
    check(len(allinfo) == 7 and all(set(i) == INFO_KEYS for i in allinfo), allinfo)
    cfg = p.supervisor.getAllConfigInfo()
    check(all({"name", "group", "command", "autostart", "exitcodes", "stopsignal",
               "stdout_logfile", "serverurl", "inuse"} <= set(c) for c in cfg), cfg[0])
    check(fault(p.supervisor.getProcessInfo, "nosuch") == 10, "BAD_NAME")
    check(fault(p.supervisor.startProcess, "web") == 60, "ALREADY_STARTED")
    check(fault(p.supervisor.stopProcess, "manual") == 70, "NOT_RUNNING")
    check(fault(p.supervisor.startProcess, "nofile") == 20, "NO_FILE")
    check(fault(p.supervisor.startProcess, "bad") == 50, "SPAWN_ERROR")
    check(fault(p.supervisor.signalProcess, "web", "NOPE") == 11, "BAD_SIGNAL")
    check(fault(p.supervisor.nosuchMethod) == 1, "UNKNOWN_METHOD")
    check(fault(p.supervisor.getProcessInfo) == 2, "INCORRECT_PARAMETERS")
    check(p.supervisor.stopProcess("web") is True, "stop")
    check(p.supervisor.getProcessInfo("web")["statename"] == "STOPPED", "stopped")
    check(p.supervisor.startProcess("web") is True, "start waits for RUNNING")
    check(p.supervisor.getProcessInfo("web")["statename"] == "RUNNING", "running")
    res = p.supervisor.stopProcessGroup("worker")
    check(sorted((r["name"], r["status"], r["description"]) for r in res) ==
          [("worker_00", 80, "OK"), ("worker_01", 80, "OK")], res)
    data, offset, overflow = p.supervisor.tailProcessStdoutLog("printer", 0, 100)
    check(data == "line one\nline two\n" and offset == len(data) and not overflow, data)
    check(p.supervisor.readProcessStderrLog("printer", 0, 0) == "to stderr\n", "stderr")
    m = p.system.multicall([{"methodName": "supervisor.getAPIVersion", "params": []},
                            {"methodName": "supervisor.getProcessInfo", "params": ["x"]}])
    check(m[0] == "3.0" and m[1]["faultCode"] == 10, m)
    check(p.system.methodSignature("supervisor.startProcess") ==
          ["boolean", "string", "boolean"], "signature")
    check(isinstance(p.system.methodHelp("supervisor.getPID"), str), "help")
    check(p.supervisor.getPID() == s.proc.pid, "pid")


def both_daemons(sb, programs=""):
    """supervisord and superd started on the same config (the shared
    programs plus `programs`): [(side, proxy)], supervisord first."""
    if SV is None:
        harness.skip("supervisord not installed")
    import test_supervisorctl as T
    saved = T.PROGRAMS
    T.PROGRAMS = saved + programs
    try:
        sides = [Side(sb, "sv"), Side(sb, "sd")]
    finally:
        T.PROGRAMS = saved
    out = []
    for s in sides:
        s.start()
        out.append((s, proxy(os.path.join(s.dir, "s.sock"))))
    return out


def test_list_methods_match_supervisord(sb):
    lists = [sorted(p.system.listMethods()) for _, p in both_daemons(sb)]
    check(lists[0] == lists[1], "listMethods differ:\n%s\n%s" % tuple(lists))


def multicall_session(p):
    """stop, start with wait=True and looks in between, in one multicall:
    the bare values supervisord 4.2 returns, the start waited for."""
    m = p.system.multicall([
        {"methodName": "supervisor.stopProcess", "params": ["web"]},
        {"methodName": "supervisor.getProcessInfo", "params": ["web"]},
        {"methodName": "supervisor.startProcess", "params": ["web"]},
        {"methodName": "supervisor.getProcessInfo", "params": ["web"]},
        {"methodName": "supervisor.startProcess", "params": ["nosuch"]},
        {"methodName": "system.multicall", "params": [[]]},
        {"params": []}])
    return [r["statename"] if isinstance(r, dict) and "statename" in r else
            (r["faultCode"], r["faultString"]) if isinstance(r, dict) else r
            for r in m]


def test_multicall_waits_like_supervisord(sb):
    got = []
    for s, p in both_daemons(sb):
        wait_until(lambda: p.supervisor.getProcessInfo("web")["statename"] ==
                   "RUNNING", 10, "web running")
        got.append(multicall_session(p))
    check(got[1][:4] == [True, "STOPPED", True, "RUNNING"], got[1])
    check(got[0] == got[1], "multicall differs:\nsv %s\nsd %s" % tuple(got))


EXITING = """
[program:once]
command=/bin/sh -c 'sleep 1.2; exit 3'
startsecs=1
autorestart=false

[program:okonce]
command=/bin/sh -c 'sleep 1.2; exit 0'
startsecs=1
autorestart=unexpected

[program:killed]
command=/bin/sh -c 'sleep 1.2; kill -9 $$'
startsecs=1
autorestart=false
"""


def comparable(v, d):
    """An info struct without what differs by nature (pids, times, paths)."""
    if isinstance(v, dict):
        return {k: comparable(x, d) for k, x in v.items()
                if k not in ("pid", "start", "stop", "now", "logfile",
                             "stdout_logfile", "stderr_logfile")}
    if isinstance(v, list):
        return [comparable(x, d) for x in v]
    if isinstance(v, str):
        v = re.sub(r"pid \d+, uptime \S+", "pid N", v.replace(d, "DIR"))
        return re.sub(r"\w\w\w \d\d \d\d:\d\d [AP]M", "DATE", v)
    return v


def test_exit_info_and_tails_like_supervisord(sb):
    """exitstatus and spawnerr after expected, unexpected and signal exits,
    after a stop, while running, after a too-quick exit; tail offsets
    below zero, as supervisord's tailFile computes them."""
    got = []
    for s, p in both_daemons(sb, EXITING):
        wait_until(lambda: all(p.supervisor.getProcessInfo(n)["statename"] == "EXITED"
                               for n in ("once", "okonce", "killed")) and
                   p.supervisor.getProcessInfo("web")["statename"] == "RUNNING",
                   15, "%s: the exits" % s.name)
        p.supervisor.stopProcess("web")
        view = [comparable(p.supervisor.getProcessInfo(n), s.dir)
                for n in ("once", "okonce", "killed", "web", "bad", "printer")]
        view += [p.supervisor.tailProcessStdoutLog("printer", off, n)
                 for off, n in ((-1, 5), (0, 100), (5, 3), (100, 10), (-50, -2))]
        got.append(view)
    for a, b in zip(*got):
        check(a == b, "differs:\nsv %s\nsd %s" % (a, b))


def test_restart_then_shutdown_midway(sb):
    """supervisor.restart stops everything first; a SIGTERM while a slow
    program is still stopping turns the restart into a shutdown that
    finishes (superd exits 0, nothing left behind, nothing restarted)."""
    slow = ("\n[program:slow]\ncommand=/bin/sh -c 'trap \"sleep 2; exit 0\" TERM; "
            "echo up; while :; do sleep 0.1; done'\nstartsecs=0\nstopwaitsecs=10\n")
    s, p = superd_side(sb, slow)
    wait_until(lambda: p.supervisor.getProcessInfo("slow")["statename"] == "RUNNING",
               10, "slow running")
    wait_until(lambda: "up" in p.supervisor.readProcessStdoutLog("slow", 0, 0), 10,
               "the trap set")
    old = p.supervisor.getProcessInfo("slow")["pid"]
    check(p.supervisor.restart() is True, "restart")
    wait_until(lambda: p.supervisor.getState()["statename"] == "RESTARTING", 5,
               "RESTARTING while slow stops")
    check(fault(p.supervisor.startProcess, "web") == 6, "SHUTDOWN_STATE while restarting")
    s.proc.send_signal(signal.SIGTERM)
    check(s.proc.wait(20) == 0, "superd did not finish its shutdown")
    check(not harness.alive(old), "slow outlived superd")


def test_restart_comes_back(sb):
    """After supervisor.restart the daemon answers RUNNING again and every
    autostart program has a new pid."""
    s, p = superd_side(sb)
    before = {i["name"]: i["pid"] for i in p.supervisor.getAllProcessInfo() if i["pid"]}
    check(p.supervisor.restart() is True, "restart")
    wait_until(lambda: p.supervisor.getState()["statename"] == "RUNNING" and
               all(p.supervisor.getProcessInfo(n)["statename"] == "RUNNING"
                   for n in ("web", "printer")), 15, "back after restart")
    after = {i["name"]: i["pid"] for i in p.supervisor.getAllProcessInfo() if i["pid"]}
    check(set(before) == set(after) and not set(before.values()) & set(after.values()),
          "pids before %s after %s" % (before, after))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_inet_auth(sb):
    port = free_port()
    sha = hashlib.sha1(b"s3cret").hexdigest()
    s, _ = superd_side(sb, "\n[inet_http_server]\nport=127.0.0.1:%d\nusername=admin\n"
                           "password={SHA}%s\n" % (port, sha))
    body = (b"<?xml version='1.0'?><methodCall><methodName>supervisor.stopProcess"
            b"</methodName><params><param><value><string>web</string></value>"
            b"</param></params></methodCall>")

    def post(auth):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        head = "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
        if auth:
            import base64
            head += "Authorization: Basic %s\r\n" % base64.b64encode(auth).decode()
        c.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.close()
        return data
    check(post(None).startswith(b"HTTP/1.1 401"), "no credentials")
    check(post(b"admin:wrong").startswith(b"HTTP/1.1 401"), "wrong password")
    check(post(b"root:s3cret").startswith(b"HTTP/1.1 401"), "wrong user")
    p = proxy(os.path.join(s.dir, "s.sock"))
    check(p.supervisor.getProcessInfo("web")["statename"] == "RUNNING",
          "401 changed nothing")
    check(b"<boolean>1</boolean>" in post(b"admin:s3cret"), "{SHA} password works")
    check(p.supervisor.getProcessInfo("web")["statename"] == "STOPPED", "stopped")
    t = xmlrpc.client.ServerProxy("http://admin:s3cret@127.0.0.1:%d/RPC2" % port)
    check(t.supervisor.getAPIVersion() == "3.0", "xmlrpc over TCP")


def test_load_and_hostile_clients(sb):
    s, p = superd_side(sb)
    sock = os.path.join(s.dir, "s.sock")
    errors = []
    done = []

    def worker():
        try:
            q = proxy(sock)
            for _ in range(3):
                check(len(q.supervisor.getAllProcessInfo()) == 7, "count")
            done.append(1)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    # Hostile clients first: an endless header, a huge body, a slow one.
    endless = socket.socket(socket.AF_UNIX)
    endless.connect(sock)
    endless.sendall(b"GET /logtail/web HTTP/1.1\r\nX: " + b"a" * 20000)
    huge = socket.socket(socket.AF_UNIX)
    huge.connect(sock)
    huge.sendall(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 50000000\r\n\r\n")
    slow = socket.socket(socket.AF_UNIX)
    slow.connect(sock)
    slow.sendall(b"POST /RPC2 HTTP/1.1\r\n")
    threads = [threading.Thread(target=worker) for _ in range(200)]
    for t in threads:
        t.start()
    # JSON-RPC keeps working meanwhile.
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock)
    c.settimeout(10)
    c.sendall(b'{"jsonrpc":"2.0","id":1,"method":"process.list"}\n')
    check(b'"result"' in c.recv(65536), "JSON-RPC answered")
    c.close()
    for t in threads:
        t.join(60)
    check(not errors and len(done) == 200, "HTTP clients: %d ok, errors %s"
          % (len(done), errors[:3]))
    for h, want in ((endless, b"431"), (huge, b"413")):
        h.settimeout(10)
        check(want in h.recv(4096), "cut off with %s" % want)
        h.close()
    slow.settimeout(20)
    t0 = time.monotonic()
    got = slow.recv(4096)
    check(b"408" in got and time.monotonic() - t0 < 15, "slow request cut off: %r" % got)
    rss = harness.vm_rss_kib(s.proc.pid)
    check(rss < harness.rss_bound_kib(s.proc.pid, 64 * 1024), "RSS %d KiB" % rss)
    check(p.supervisor.getState()["statename"] == "RUNNING", "still serving")


def test_wait_does_not_block_others(sb):
    slow = "\n[program:slow]\ncommand=/bin/sleep 1000\nstartsecs=3\nautostart=false\n"
    s, p = superd_side(sb, slow)
    sock = os.path.join(s.dir, "s.sock")
    result = []
    t0 = time.monotonic()
    th = threading.Thread(target=lambda: result.append(
        (proxy(sock).supervisor.startProcess("slow"), time.monotonic() - t0)))
    th.start()
    wait_until(lambda: p.supervisor.getProcessInfo("slow")["statename"] == "STARTING",
               5, "slow STARTING")
    a = time.monotonic()
    for _ in range(20):
        p.supervisor.getState()
    check(time.monotonic() - a < 2, "other calls waited for startProcess")
    check(th.is_alive(), "startProcess answered before startsecs")
    th.join(15)
    check(result and result[0][0] is True and result[0][1] >= 2.9, result)
    check(p.supervisor.getProcessInfo("slow")["statename"] == "RUNNING", "running")


def test_client_gone_during_a_waiting_multicall(sb):
    """A multicall waiting on a slow start, its client gone: the pending
    call is dropped with the connection (no timer left to fire on freed
    memory: the ASan run checks that), the start goes on, and the
    calls after the waiting one never run."""
    slow = ("\n[program:slow]\ncommand=/bin/sleep 1000\nstartsecs=2\nautostart=false\n"
            "\n[program:after]\ncommand=/bin/sleep 1000\nstartsecs=0\nautostart=false\n")
    s, p = superd_side(sb, slow)
    body = xmlrpc.client.dumps(([
        {"methodName": "supervisor.startProcess", "params": ["slow"]},
        {"methodName": "supervisor.startProcess", "params": ["after"]}],),
        "system.multicall").encode()
    c = socket.socket(socket.AF_UNIX)
    c.connect(os.path.join(s.dir, "s.sock"))
    c.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    wait_until(lambda: p.supervisor.getProcessInfo("slow")["statename"] == "STARTING",
               5, "slow STARTING")
    c.close()
    wait_until(lambda: p.supervisor.getProcessInfo("slow")["statename"] == "RUNNING",
               10, "slow RUNNING after its client went")
    check(p.supervisor.getProcessInfo("after")["statename"] == "STOPPED",
          "a call after the waiting one ran without its client")
    check(p.supervisor.getState()["statename"] == "RUNNING", "superd answers")


LISTENER = r"""
import os, sys, xmlrpc.client
sys.path.append("/usr/lib/python3/dist-packages")
from supervisor.xmlrpc import SupervisorTransport
out = sys.argv[1]
def w(s):
    sys.stdout.write(s)
    sys.stdout.flush()
while True:
    w("READY\n")
    hdr = dict(x.split(":", 1) for x in sys.stdin.readline().split())
    payload = sys.stdin.read(int(hdr["len"]))
    # Like superlance's httpok: call back into the daemon from inside
    # the event, while this listener is BUSY.
    t = SupervisorTransport(None, None, os.environ["SUPERVISOR_SERVER_URL"])
    p = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=t)
    stopped = p.supervisor.stopProcess("web")
    with open(out, "a") as f:
        f.write("%s %r %s\n" % (hdr["eventname"], payload, stopped))
    w("RESULT 2\nOK")
"""


def test_remote_comm_event_and_callback(sb):
    lis = sb.write("lis.py", LISTENER)
    out = sb.path("events.txt")
    conf = ("\n[eventlistener:lis]\ncommand=/usr/bin/python3 %s %s\n"
            "events=REMOTE_COMMUNICATION\n" % (lis, out))
    s, p = superd_side(sb, conf)
    wait_until(lambda: p.supervisor.getProcessInfo("lis")["statename"] == "RUNNING",
               10, "listener running")
    check(p.supervisor.sendRemoteCommEvent("mytype", "hello data") is True, "sent")
    got = wait_until(lambda: harness.read_text(out), 15, "the event")
    check(got == "REMOTE_COMMUNICATION 'type:mytype\\nhello data' True\n", repr(got))
    check(p.supervisor.getProcessInfo("web")["statename"] == "STOPPED", "web stopped")


def test_stream_reader_that_never_reads_is_dropped(sb):
    noisy = ("\n[program:noisy]\ncommand=/bin/sh -c 'while :; do echo "
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done'\n"
             "startsecs=0\nstdout_logfile=NONE\n")
    s, p = superd_side(sb, noisy)
    c = socket.socket(socket.AF_UNIX)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(os.path.join(s.dir, "s.sock"))
    c.sendall(b"GET /logtail/noisy HTTP/1.1\r\nHost: x\r\n\r\n")
    log = os.path.join(s.dir, "daemon.log")
    wait_until(lambda: "does not read its stream" in harness.read_text(log), 30,
               "the unread stream to be dropped")
    rss = harness.vm_rss_kib(s.proc.pid)
    check(rss < harness.rss_bound_kib(s.proc.pid, 64 * 1024), "RSS %d KiB" % rss)
    check(p.supervisor.getState()["statename"] == "RUNNING", "still serving")
    c.close()


RAW_CLIENT = r"""
import socket, sys
def call(method, arg):
    body = ("<?xml version='1.0'?><methodCall><methodName>%s</methodName><params>%s"
            "</params></methodCall>" % (method, arg)).encode()
    c = socket.socket(socket.AF_UNIX)
    c.connect(sys.argv[1])
    c.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode()
web = "<param><value><string>web</string></value></param>"
print(repr(call("supervisor.getProcessInfo", web)))
print(repr(call("supervisor.stopProcess", web)))
"""


def test_readonly_role(sb):
    if os.geteuid() != 0:
        harness.skip("needs root to switch users")
    s = Side(sb, "sd")
    s.write_conf("", "chmod=0666\nreadonly_group=users\n")
    os.chmod(sb.dir, 0o711)
    os.chmod(s.dir, 0o711)
    s.start()
    sock = os.path.join(s.dir, "s.sock")
    p = proxy(sock)
    wait_until(lambda: p.supervisor.getProcessInfo("web")["statename"] == "RUNNING",
               10, "web running")

    def run(groups):
        r = subprocess.run(["/usr/bin/python3", "-c", RAW_CLIENT, sock], capture_output=True,
                           text=True, user=65534, group=65534, extra_groups=groups,
                           timeout=30, cwd="/")
        return r.stdout.splitlines()
    member = run([100])
    check(len(member) == 2 and "RUNNING" in member[0], member)
    check("<int>30</int>" in member[1] and "permission denied" in member[1], member)
    nobody = run([])
    check(len(nobody) == 2 and all("403" in x for x in nobody), nobody)
    check(p.supervisor.getProcessInfo("web")["statename"] == "RUNNING",
          "a refused call had an effect")


if __name__ == "__main__":
    harness.main(globals())
