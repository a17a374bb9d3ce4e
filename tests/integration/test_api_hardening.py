"""The control socket under abuse (RELIABILITY.md A and C): permissions,
the lock, roles, oversized and endless input, clients that never read,
connection floods and fd exhaustion."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, program, skip, wait_until  # noqa: E402

NOBODY = 65534
NOGROUP = 65534
# A python3 that nobody may run (ours may live under /root).
PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable)
               if p.startswith(("/usr/", "/bin/")) and os.access(p, os.X_OK)), None)


def started(sb, *sections, control=None, **start):
    sb.config(*(sections or (program("web", "/bin/sleep 1000"),)), control=control)
    proc = sb.start(**start)
    return proc


def superd_pid(sb):
    return sb.call("daemon.info")["pid"]


def cpu_ticks(pid):
    st = harness.proc_stat(pid)
    return st[3] if st else 0


def read_to_eof(sock, timeout):
    """Drain sock; True once the peer closed it within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if not sock.recv(1 << 20):
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def send_quietly(sock, data):
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


# -- socket file, lock ------------------------------------------------------

def test_socket_mode_and_umask(sb):
    sb.config(program("web", "/bin/sleep 1000"), control={"socket_mode": "0660"})
    trace = sb.path("strace.out")
    prefix = []
    if shutil.which("strace"):
        prefix = ["strace", "-f", "-o", trace, "-e", "trace=umask,bind,chmod,fchmodat"]
    sb.start(prefix=prefix, preexec_fn=lambda: os.umask(0))
    mode = stat.S_IMODE(os.stat(sb.sock).st_mode)
    check(mode == 0o660, "socket mode %o, configured 0660" % mode)
    check(stat.S_ISSOCK(os.stat(sb.sock).st_mode), "not a socket")
    if prefix:
        lines = harness.read_text(trace).splitlines()
        bind = [i for i, l in enumerate(lines) if "bind(" in l and sb.sock in l]
        check(bind, "no bind of the socket in strace output")
        before = lines[:bind[0]]
        umasks = [l for l in before if "umask(077)" in l]
        check(umasks, "no umask(077) before bind: %s" % "\n".join(before[-5:]))


def test_default_mode_0700(sb):
    started(sb)
    mode = stat.S_IMODE(os.stat(sb.sock).st_mode)
    check(mode == 0o700, "default socket mode %o" % mode)


def test_socket_dir_created(sb):
    sock = sb.path("run", "sub", "superd.sock")
    sb.config(program("web", "/bin/sleep 1000"), control={"socket": sock})
    proc = sb.launch(["-c", sb.conf], preexec_fn=lambda: os.umask(0o077))
    sb.wait_socket(proc, path=sock)
    check(stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o755, "socket dir mode")


def test_world_writable_dir_refused(sb):
    d = sb.path("open")
    os.makedirs(d)
    os.chmod(d, 0o777)
    sb.config(program("web", "/bin/sleep 1000"), control={"socket": os.path.join(d, "s.sock")})
    rc, out, err = sb.run_superd("-c", sb.conf)
    check(rc != 0, "superd started with its socket in a 0777 directory")
    check("writable" in err + out, "no reason given: %r" % (err + out)[-300:])
    # Sticky (like /tmp) is fine.
    os.chmod(d, 0o1777)
    proc = sb.launch(["-c", sb.conf])
    sb.wait_socket(proc, path=os.path.join(d, "s.sock"))


def test_not_a_socket_refused(sb):
    sb.config(program("web", "/bin/sleep 1000"))
    with open(sb.sock, "w") as f:
        f.write("precious")
    rc, out, err = sb.run_superd("-c", sb.conf)
    check(rc != 0, "superd replaced a regular file at the socket path")
    check(harness.read_text(sb.sock) == "precious", "the file was touched")


def test_second_superd_refused(sb):
    first = started(sb)
    pid = superd_pid(sb)
    sock_ino = os.stat(sb.sock).st_ino
    lock_ino = os.stat(sb.sock + ".lock").st_ino
    rc, out, err = sb.run_superd("-c", sb.conf)
    check(rc != 0, "a second superd on the same socket exited 0")
    check("pid %d" % pid in err + out, "the message does not name pid %d: %r" % (pid, (err + out)[-300:]))
    check(first.poll() is None, "the first superd died")
    check(os.stat(sb.sock).st_ino == sock_ino, "the socket was replaced")
    check(os.stat(sb.sock + ".lock").st_ino == lock_ino, "the lock file was replaced")
    check(sb.rpc().call("daemon.version")["api"] == 1, "the first superd does not answer")


def test_kill9_then_restart(sb):
    first = started(sb)
    first.kill()
    first.wait(5)
    check(os.path.exists(sb.sock), "expected a stale socket after kill -9")
    t = time.monotonic()
    sb.start()
    elapsed = time.monotonic() - t
    check(elapsed < 1.5, "restart after kill -9 took %.2fs" % elapsed)
    check(sb.rpc().call("daemon.version")["api"] == 1, "new superd does not answer")


# -- roles -------------------------------------------------------------------

def run_as(uid, gid, groups, sock_path, requests, timeout=10):
    """One connection as another user; the replies to `requests`."""
    code = ("import json, socket, sys\n"
            "reqs = json.loads(sys.argv[2])\n"
            "s = socket.socket(socket.AF_UNIX); s.settimeout(%d)\n"
            "try:\n"
            "    s.connect(sys.argv[1])\n"
            "except PermissionError:\n"
            "    print('EACCES'); sys.exit(0)\n"
            "s.sendall(b''.join(json.dumps(r).encode() + b'\\n' for r in reqs))\n"
            "buf = b''\n"
            "while buf.count(b'\\n') < len([r for r in reqs if 'id' in r]):\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk: break\n"
            "    buf += chunk\n"
            "print(json.dumps([json.loads(l) for l in buf.splitlines() if l]))\n" % timeout)

    def drop():
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
    r = subprocess.run([PYTHON, "-c", code, sock_path, json.dumps(requests)],
                       capture_output=True, text=True, timeout=timeout + 10, cwd="/",
                       preexec_fn=drop)
    check(r.returncode == 0, "client as uid %d failed: %s" % (uid, r.stderr[-300:]))
    return json.loads(r.stdout) if r.stdout.strip() != "EACCES" else "EACCES"


ALL_CALLS = [
    ("daemon.version", None), ("daemon.info", None), ("process.list", None),
    ("process.tail", {"name": "web"}), ("events.subscribe", None),
    ("process.stop", {"names": ["web"]}), ("process.start", {"names": ["web"]}),
    ("process.restart", {"names": ["web"]}), ("process.signal", {"names": ["web"], "signal": "KILL"}),
    ("process.clear_log", {"names": ["web"]}), ("process.stdin", {"name": "web", "data": "x"}),
    ("config.reread", None), ("config.update", None), ("config.avail", None),
    ("daemon.reopen_logs", None), ("daemon.shutdown", None),
]
READ_ONLY = {"daemon.version", "daemon.info", "process.list", "process.tail", "events.subscribe"}


def requests_for(calls, extra=None):
    out = []
    for n, (method, params) in enumerate(calls):
        r = {"jsonrpc": "2.0", "id": n + 1, "method": method}
        if params is not None:
            r["params"] = dict(params, **(extra or {}))
        out.append(r)
    return out


def role_sandbox(sb, mode="0666"):
    if PYTHON is None:
        skip("no python3 that nobody may run")
    if os.geteuid() != 0:
        skip("needs root to switch users")
    os.chmod(sb.dir, 0o711)
    sb.config(program("web", "/bin/sleep 1000"),
              control={"socket_mode": mode, "readonly_group": "users"})
    sb.start()
    return sb.wait_running("web")["web"]


def test_role_nobody_denied(sb):
    pid = role_sandbox(sb)
    replies = run_as(NOBODY, NOGROUP, [], sb.sock,
                     requests_for(ALL_CALLS, {"uid": 0, "user": "root"}))
    check(len(replies) == len(ALL_CALLS), "nobody got %d replies" % len(replies))
    for (method, _), reply in zip(ALL_CALLS, replies):
        check(reply.get("error", {}).get("code") == 105, "nobody %s: %r" % (method, reply))
    check(sb.proc("web")["pid"] == pid and sb.proc("web")["state"] == "RUNNING",
          "a denied call had an effect")
    check(sb.daemon.poll() is None, "daemon.shutdown as nobody stopped superd")


def test_role_readonly_group(sb):
    pid = role_sandbox(sb)
    users = 100
    calls = [c for c in ALL_CALLS if c[0] != "events.subscribe"]
    replies = run_as(NOBODY, NOGROUP, [users], sb.sock, requests_for(calls))
    for (method, _), reply in zip(calls, replies):
        if method in READ_ONLY:
            check("result" in reply, "read-only member: %s refused: %r" % (method, reply))
        else:
            check(reply.get("error", {}).get("code") == 105, "read-only member: %s: %r" % (method, reply))
    check(sb.proc("web")["pid"] == pid and sb.proc("web")["state"] == "RUNNING",
          "a denied call had an effect")
    check(sb.daemon.poll() is None, "superd stopped")


def test_mode_0600_refuses_nobody(sb):
    role_sandbox(sb, mode="0600")
    check(run_as(NOBODY, NOGROUP, [], sb.sock, requests_for(ALL_CALLS[:1])) == "EACCES",
          "nobody could connect to a 0600 socket")


# -- framing and input bounds --------------------------------------------------

def test_line_over_1mib_closed(sb):
    started(sb)
    other = sb.rpc()
    c = sb.rpc()
    line = b'{"jsonrpc":"2.0","id":1,"method":"' + b"a" * (1 << 20) + b'"}\n'
    send_quietly(c.sock, line)
    reply = c.read_message(10)
    check(reply is not None and reply["error"]["code"] == -32600, "long line: %r" % (reply,))
    check(c.read_message(10) is None, "connection not closed after a line over 1 MiB")
    check(other.call("daemon.version")["api"] == 1, "another client was affected")


def test_exactly_1mib_line_accepted(sb):
    started(sb)
    c = sb.rpc()
    head = b'{"jsonrpc":"2.0","id":1,"method":"daemon.version","params":{"pad":"'
    tail = b'"}}'
    line = head + b"x" * ((1 << 20) - len(head) - len(tail)) + tail
    check(len(line) == 1 << 20, "test line size")
    send_quietly(c.sock, line + b"\n")
    reply = c.read_message(10)
    # Over-long params are refused by the method, not by the framing.
    check(reply is not None and reply["error"]["code"] == -32602, "1 MiB line: %r" % (reply,))
    check(c.call("daemon.version")["api"] == 1, "connection closed after a 1 MiB line")


def test_10mib_flood(sb):
    started(sb)
    pid = superd_pid(sb)
    rss = harness.vm_rss_kib(pid)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sb.sock)
    s.settimeout(10)
    chunk = b"a" * (1 << 16)
    for _ in range(160):
        if not send_quietly(s, chunk):
            break
    check(read_to_eof(s, 10), "a 10 MiB line was not cut off")
    s.close()
    check(sb.rpc().call("daemon.version")["api"] == 1, "superd does not answer after the flood")
    grown = harness.vm_rss_kib(pid) - rss
    check(grown < harness.rss_bound_kib(pid, 20 * 1024), "RSS grew by %d KiB" % grown)


def test_connect_send_close_cycles(sb):
    """R19: clients that go before reading their answer."""
    started(sb)
    pid = superd_pid(sb)
    sb.client().close()
    time.sleep(0.2)
    base = harness.fd_count(pid)
    msg = b'{"jsonrpc":"2.0","id":1,"method":"process.list"}\n'
    for _ in range(1000):
        s = socket.socket(socket.AF_UNIX)
        s.connect(sb.sock)
        send_quietly(s, msg)
        s.close()
    check(sb.daemon.poll() is None, "superd died")
    wait_until(lambda: harness.fd_count(pid) <= base, 5,
               "fd count back to %d (now %d)" % (base, harness.fd_count(pid)))
    check(sb.rpc().call("daemon.version")["api"] == 1, "superd does not answer")


def test_partial_line_timeout(sb):
    started(sb)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sb.sock)
    s.sendall(b'{"meth')
    t = time.monotonic()
    check(read_to_eof(s, 13), "an incomplete request was kept over 13 s")
    elapsed = time.monotonic() - t
    check(elapsed >= 8, "closed too early (%.1fs)" % elapsed)


def test_subscriber_stays(sb):
    """An idle connection with a stream open is not timed out."""
    started(sb)
    c = sb.rpc()
    c.call("events.subscribe")
    time.sleep(12)
    sb.call("process.stop", {"names": ["web"]})
    n = c.notification("process.state", 5)
    check(n["params"]["name"] == "web", "no event after 12 s idle: %r" % n)


# -- clients that do not read, floods ------------------------------------------

def test_non_reader_dropped(sb):
    progs = [program("p%02d" % i, "/bin/sleep 1000", autostart="false",
                     stdout_logfile=sb.path("logs", "p%02d-with-a-long-log-file-name.log" % i))
             for i in range(40)]
    started(sb, *progs)
    pid = superd_pid(sb)
    rss = harness.vm_rss_kib(pid)
    hog = socket.socket(socket.AF_UNIX)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.connect(sb.sock)
    hog.settimeout(5)
    req = b'{"jsonrpc":"2.0","id":1,"method":"process.list"}\n'
    sent = 0
    for _ in range(2000):
        if not send_quietly(hog, req * 10):
            break
        sent += 1
    other = sb.rpc()
    t = time.monotonic()
    check(other.call("daemon.version", timeout=5)["api"] == 1, "others not served")
    check(time.monotonic() - t < 1, "others served slowly")
    check(read_to_eof(hog, 15), "a client that never reads was not dropped")
    grown = harness.vm_rss_kib(pid) - rss
    check(grown < harness.rss_bound_kib(pid, 30 * 1024), "RSS grew by %d KiB" % grown)


def test_follow_flood_non_reader(sb):
    sb.config(program("noisy", "/usr/bin/yes superd-flood-line", stdout_logfile="NONE"))
    sb.start()
    sb.wait_running("noisy")
    pid = superd_pid(sb)
    probe = sb.rpc()
    probe.call("process.tail", {"name": "noisy", "follow": True, "bytes": 0})
    try:
        probe.notification("log.data", 3)
    except harness.Failure:
        skip("no log.data flows (output module not there yet)")
    probe.close()
    hogs = []
    for _ in range(5):
        s = socket.socket(socket.AF_UNIX)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(sb.sock)
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"process.tail",'
                  b'"params":{"name":"noisy","follow":true}}\n')
        hogs.append(s)
    other = sb.rpc()
    worst = 0.0
    end = time.monotonic() + 5
    while time.monotonic() < end:
        t = time.monotonic()
        other.call("daemon.version", timeout=5)
        worst = max(worst, time.monotonic() - t)
        time.sleep(0.05)
    print("  worst prober latency %.3f s" % worst)
    # A loop blocked on a follower would miss the 5 s timeout above; the
    # bound only has to tell that from a busy machine (RELIABILITY's 200 ms
    # is what the line printed shows).
    check(worst < 1.0, "a prober waited %.2fs while followers did not read" % worst)
    for s in hogs:
        check(read_to_eof(s, 20), "a follower that never reads was not dropped")
    check(harness.vm_rss_kib(pid) < harness.rss_bound_kib(pid, 200 * 1024), "RSS %d KiB" % harness.vm_rss_kib(pid))


def test_300_concurrent_clients(sb):
    started(sb)
    clients = []
    for _ in range(300):
        s = socket.socket(socket.AF_UNIX)
        s.connect(sb.sock)
        clients.append(s)
    for n, s in enumerate(clients):
        s.sendall(b'{"jsonrpc":"2.0","id":%d,"method":"daemon.version"}\n' % n)
    for n, s in enumerate(clients):
        s.settimeout(10)
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(4096)
            check(chunk, "client %d closed without an answer" % n)
            buf += chunk
        check(json.loads(buf.split(b"\n")[0])["id"] == n, "client %d answer" % n)
    for s in clients:
        s.close()


def test_emfile_flood(sb):
    if not shutil.which("prlimit"):
        skip("no prlimit")
    sb.config(program("web", "/bin/sleep 1000"))
    sb.start(prefix=["prlimit", "--nofile=64:64"])
    pid = superd_pid(sb)
    keeper = sb.rpc()
    keeper.call("daemon.version")
    flood = []
    for _ in range(300):
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        try:
            s.connect(sb.sock)
        except (BlockingIOError, OSError):
            pass
        flood.append(s)
    before = cpu_ticks(pid)
    time.sleep(3)
    used = cpu_ticks(pid) - before
    hz = os.sysconf("SC_CLK_TCK")
    check(used < 0.2 * 3 * hz, "superd used %d ticks in 3 s under a connection flood" % used)
    check(keeper.call("daemon.version", timeout=5)["api"] == 1, "an established client was not served")
    for s in flood:
        s.close()
    t = time.monotonic()
    wait_until(lambda: sb.rpc().call("daemon.version", timeout=3)["api"] == 1, 5, "a new client served")
    check(time.monotonic() - t < 3, "recovery took too long")


def test_accept_emfile_injected(sb):
    """R25 with strace: every accept4 fails with EMFILE; no spinning."""
    if not shutil.which("strace"):
        skip("no strace")
    sb.config(program("web", "/bin/sleep 1000"))
    proc = sb.launch(["-c", sb.conf], prefix=["strace", "-f", "-o", "/dev/null", "-e", "trace=accept4",
                                               "-e", "inject=accept4:error=EMFILE"])
    wait_until(lambda: os.path.exists(sb.sock), 10, "the socket")
    kids = wait_until(lambda: harness.children_of(proc.pid), 5, "superd under strace")
    pid = kids[0]
    s = socket.socket(socket.AF_UNIX)
    s.connect(sb.sock)
    time.sleep(0.5)
    before = cpu_ticks(pid)
    time.sleep(3)
    used = cpu_ticks(pid) - before
    hz = os.sysconf("SC_CLK_TCK")
    check(used < 0.1 * 3 * hz, "superd used %d ticks in 3 s with accept failing" % used)
    check(proc.poll() is None, "superd died")
    log = sb.log(proc)
    check(1 <= log.count("accept") <= 2, "EMFILE logged %d times" % log.count("accept"))
    s.close()


if __name__ == "__main__":
    harness.main(globals())
