"""Held sockets (SPEC.md section 8, issue 10), the supervisor's side:
bound before the first spawn, the same socket (inode) across stop, crash,
restart and an update that keeps the socket= value, shared by every
process of numprocs; a connection made while the program is down is
served after it starts; a bind failure refuses the start of superd or
the update (error 107) naming program and address; removal closes it."""

import errno
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Failure, check, program, skip, wait_until, read_text, free_port  # noqa: E402

PY = sys.executable


def server(sb):
    """Notes fd 3's inode and LISTEN_* per pid, then answers on fd 3."""
    os.makedirs(sb.path("info"), exist_ok=True)
    return "%s %s" % (PY, sb.write("srv.py", """
import os, socket
st = os.fstat(3)
with open(os.path.join(%r, str(os.getpid())), "w") as f:
    f.write("%%d %%s %%s %%s" %% (st.st_ino, os.environ.get("LISTEN_FDS"),
            os.environ.get("LISTEN_PID"), os.environ.get("LISTEN_FDNAMES")))
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.sendall(b"pong " + c.recv(100))
    c.close()
""" % sb.path("info")))


def info(sb, pid):
    path = sb.path("info", str(pid))
    wait_until(lambda: read_text(path).strip(), 10, "%d's note" % pid)
    ino, fds, lpid, names = read_text(path).split()
    return int(ino), fds, lpid, names


def occupied_port():
    """A listening socket on 127.0.0.1 (the caller closes it) and its port,
    for binds that must fail."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    return busy, busy.getsockname()[1]


def ask(port, timeout=10):
    c = socket.create_connection(("127.0.0.1", port), timeout)
    c.settimeout(timeout)
    c.sendall(b"ping")
    data = c.recv(100)
    c.close()
    return data


def needs_socket_key(sb):
    rc, out, err = sb.run_superd("-t", "-c", sb.conf)
    if "unknown key 'socket'" in out + err:
        skip("config does not parse socket= yet")


def web(sb, port, **keys):
    settings = dict(socket="tcp://127.0.0.1:%d" % port)
    settings.update(keys)
    return program("web", server(sb), **settings)


NAMES = ["web:web_0", "web:web_1", "web:web_2"]


def test_same_socket_in_all_numprocs_and_across_restarts(sb):
    port = free_port()
    sb.config(web(sb, port, numprocs=3, process_name="%(program_name)s_%(process_num)d",
                  autorestart="true"))
    needs_socket_key(sb)
    sb.start()
    pids = sb.wait_running(*NAMES)
    notes = [info(sb, pid) for pid in pids.values()]
    ino = notes[0][0]
    for (i, fds, lpid, names), pid in zip(notes, pids.values()):
        check(i == ino, "every process has the same socket: %r" % notes)
        check(fds == "1" and lpid == str(pid) and names == "web", "LISTEN_*: %r" % (notes,))
    check(ask(port) == b"pong ping", "served")
    # restart, stop/start, a crash: still the very same socket.
    sb.call("process.restart", {"names": ["web:web_0"]})
    sb.call("process.stop", {"names": ["web:web_1"]})
    sb.call("process.start", {"names": ["web:web_1"]})
    os.kill(sb.proc("web:web_2")["pid"], signal.SIGKILL)
    wait_until(lambda: sb.proc("web:web_2")["pid"] != pids["web:web_2"] and
               sb.proc("web:web_2")["state"] == "RUNNING", 10, "web_2 back after a crash")
    for n in NAMES:
        p = sb.proc(n)
        check(p["pid"] != pids[n], "%s replaced" % n)
        check(info(sb, p["pid"])[0] == ino, "%s: same inode after restart" % n)
    # An update that changes the program but keeps socket= keeps it too.
    sb.config(web(sb, port, numprocs=3, process_name="%(program_name)s_%(process_num)d",
                  autorestart="true", startsecs=1))
    sb.call("config.update")
    wait_until(lambda: all(sb.proc(n)["state"] == "RUNNING" for n in NAMES), 15, "updated")
    for n in NAMES:
        check(info(sb, sb.proc(n)["pid"])[0] == ino, "%s: same inode after update" % n)


def test_connection_while_stopped_is_served_after_start(sb):
    port = free_port()
    sb.config(web(sb, port, autostart="false"))
    needs_socket_key(sb)
    sb.start()
    check(sb.proc("web")["state"] == "STOPPED", "not started")
    c = socket.create_connection(("127.0.0.1", port), 5)   # waits in the backlog
    c.sendall(b"early")
    sb.call("process.start", {"names": ["web"]})
    c.settimeout(10)
    check(c.recv(100) == b"pong early", "the early connection is served")
    c.close()


def test_bind_error_at_start(sb):
    busy, port = occupied_port()
    sb.config(web(sb, port))
    needs_socket_key(sb)
    proc = sb.launch(["-c", sb.conf])
    try:
        rc = proc.wait(10)
    finally:
        busy.close()
    log = sb.log(proc)
    check(rc == 1, "superd exits 1 (%r): %s" % (rc, log))
    check("web" in log and "127.0.0.1:%d" % port in log, "program and address named: %s" % log)


def test_bind_error_at_update_changes_nothing(sb):
    port = free_port()
    sb.config(web(sb, port))
    needs_socket_key(sb)
    sb.start()
    pid = sb.wait_running("web")["web"]
    busy, bport = occupied_port()
    try:
        sb.config(web(sb, port), program("api", server(sb), socket="tcp://127.0.0.1:%d" % bport),
                  program("other", "sleep 1000"))
        try:
            sb.call("config.update")
            raise Failure("the update should fail")
        except harness.RpcError as e:
            check(e.error["code"] == 107, "error 107: %r" % e.error)
            msg = e.error["message"]
            check("api" in msg and "127.0.0.1:%d" % bport in msg, "named: %r" % msg)
    finally:
        busy.close()
    names = sorted(p["name"] for p in sb.processes())
    check(names == ["web"], "nothing changed: %r" % names)
    check(sb.proc("web")["pid"] == pid and ask(port) == b"pong ping", "web untouched")


def test_bind_error_at_sighup_changes_nothing(sb):
    port = free_port()
    sb.config(web(sb, port))
    needs_socket_key(sb)
    proc = sb.start()
    pid = sb.wait_running("web")["web"]
    busy, bport = occupied_port()
    try:
        sb.config(web(sb, port), program("api", server(sb), socket="tcp://127.0.0.1:%d" % bport))
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "127.0.0.1:%d" % bport in sb.log(proc), 5, "the bind error logged")
        check("api" in sb.log(proc) and "nothing changed" in sb.log(proc), sb.log(proc))
    finally:
        busy.close()
    check([p["name"] for p in sb.processes()] == ["web"], "nothing changed")
    check(sb.proc("web")["pid"] == pid and proc.poll() is None, "web and superd untouched")


def test_removal_closes_the_port(sb):
    port = free_port()
    sb.config(web(sb, port), program("other", "sleep 1000"))
    needs_socket_key(sb)
    sb.start()
    sb.wait_running("web")
    check(ask(port) == b"pong ping", "served")
    sb.config(program("other", "sleep 1000"))
    sb.call("config.update")
    wait_until(lambda: "web" not in [p["name"] for p in sb.processes()], 10, "web removed")

    def refused():
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return False
        except OSError as e:
            return e.errno == errno.ECONNREFUSED
    wait_until(refused, 5, "the port closed")


def test_partial_update_keeps_sockets_of_groups_left_out(sb):
    port = free_port()
    sb.config(web(sb, port), program("other", "sleep 1000"))
    needs_socket_key(sb)
    sb.start()
    sb.wait_running("web")
    # web is gone from the file, but only `other` is applied.
    sb.config(program("other", "sleep 999"))
    sb.call("config.update", {"groups": ["other"]})
    sb.call("process.restart", {"names": ["web"]})
    check(ask(port) == b"pong ping", "web still has its socket after a restart")


def test_changed_address_rebinds(sb):
    port, port2 = free_port(), free_port()
    sb.config(web(sb, port))
    needs_socket_key(sb)
    sb.start()
    sb.wait_running("web")
    sb.config(web(sb, port2))
    sb.call("config.update")
    wait_until(lambda: sb.proc("web")["state"] == "RUNNING", 10, "web back")
    wait_until(lambda: ask(port2) == b"pong ping", 10, "served on the new port")
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        raise Failure("the old port is still open")
    except ConnectionRefusedError:
        pass


if __name__ == "__main__":
    harness.main(globals())
