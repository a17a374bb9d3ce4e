"""What a child gets at spawn (SPEC.md section 8, issues 9, 10 and 12):
oom_score_adj 0 or the program's own, never superd's; SUPERVISOR_*
before [superd] environment and the program's environment= (which may
override them); a held socket as fd 3 with LISTEN_FDS, LISTEN_PID (the
child's own pid) and LISTEN_FDNAMES, or as fd 0 for [fcgi-program:x]."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, program, read_text, wait_until  # noqa: E402
from test_ready import free_port  # noqa: E402


def oom(pid):
    return int(read_text("/proc/%d/oom_score_adj" % pid).strip())


def raise_oom():
    # Raising needs no privilege; superd starts protected-looking at 500.
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("500")


def test_children_oom_score_adj(sb):
    sb.config(program("plain", "sleep 1000"),
              program("own", "sleep 1000", oom_score_adj=300))
    sb.start(preexec_fn=raise_oom)
    check(oom(sb.daemon.pid) == 500, "superd at %d" % oom(sb.daemon.pid))
    pids = sb.wait_running("plain", "own")
    check(oom(pids["plain"]) == 0, "plain child at %d, not 0" % oom(pids["plain"]))
    check(oom(pids["own"]) == 300, "own child at %d, not 300" % oom(pids["own"]))


def env_of(path):
    out = {}
    for line in read_text(path).split("\0"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def test_environment_order(sb):
    dump = sb.path("env.out")
    sb.config(program("a", "sh -c 'cat /proc/$$/environ > %s; exec sleep 1000'" % dump,
                      environment='SUPERVISOR_PROCESS_NAME="custom",FROM="program"'),
              superd={"environment": 'FROM="global",ONLY_GLOBAL="yes",'
                                     'SUPERVISOR_GROUP_NAME="g2"'})
    sb.start()
    sb.wait_running("a")
    wait_until(lambda: read_text(dump), 5, "the environment dump")
    env = env_of(dump)
    check(env.get("SUPERVISOR_ENABLED") == "1", "SUPERVISOR_ENABLED %r" % env.get("SUPERVISOR_ENABLED"))
    check(env.get("SUPERVISOR_SERVER_URL") == "unix://" + sb.sock,
          "SUPERVISOR_SERVER_URL %r" % env.get("SUPERVISOR_SERVER_URL"))
    # The config wins over what superd sets, the program over [superd].
    check(env.get("SUPERVISOR_PROCESS_NAME") == "custom", "name %r" % env.get("SUPERVISOR_PROCESS_NAME"))
    check(env.get("SUPERVISOR_GROUP_NAME") == "g2", "group %r" % env.get("SUPERVISOR_GROUP_NAME"))
    check(env.get("FROM") == "program" and env.get("ONLY_GLOBAL") == "yes", "env %r" % env)
    check("LISTEN_FDS" not in env and "NOTIFY_SOCKET" not in env, "handshakes leaked %r" % env)


def _fd_info(sb, name, fd):
    out = sb.path("%s.fd" % name)
    envf = sb.path("%s.env" % name)
    cmd = ("sh -c 'ls -l /proc/$$/fd/ > %s; cat /proc/$$/environ > %s; exec sleep 1000'"
           % (out, envf))
    return cmd, out, envf


def _socket_inode(port):
    want = ":%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(want) and fields[3] == "0A":   # LISTEN
                return fields[9]
    return None


def _fd_target(listing, fd):
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-3] == str(fd) and parts[-2] == "->":
            return parts[-1]
    return None


def test_held_socket_fd3_and_listen_env(sb):
    port = free_port()
    cmd, out, envf = _fd_info(sb, "web", 3)
    sb.config(program("web", cmd, socket="tcp://127.0.0.1:%d" % port))
    sb.start()
    pid = sb.wait_running("web")["web"]
    wait_until(lambda: read_text(out) and read_text(envf), 5, "the dumps")
    inode = _socket_inode(port)
    check(inode is not None, "nothing listens on %d" % port)
    target = _fd_target(read_text(out), 3)
    check(target == "socket:[%s]" % inode, "fd 3 is %r, want socket:[%s]:\n%s"
          % (target, inode, read_text(out)))
    check(_fd_target(read_text(out), 4) is None, "more than fd 3 passed:\n%s" % read_text(out))
    env = env_of(envf)
    check(env.get("LISTEN_FDS") == "1", "LISTEN_FDS %r" % env.get("LISTEN_FDS"))
    check(env.get("LISTEN_PID") == str(pid), "LISTEN_PID %r, pid %d" % (env.get("LISTEN_PID"), pid))
    check(env.get("LISTEN_FDNAMES") == "web", "LISTEN_FDNAMES %r" % env.get("LISTEN_FDNAMES"))
    # A restart gets the same socket and its own pid.
    os.unlink(out)
    sb.call("process.stop", {"names": ["web"]}, timeout=10)
    c = socket.create_connection(("127.0.0.1", port), 2)   # waits in the backlog
    c.close()
    sb.call("process.start", {"names": ["web"]}, timeout=10)
    pid2 = sb.proc("web")["pid"]
    wait_until(lambda: read_text(out), 5, "the second dump")
    check(_fd_target(read_text(out), 3) == "socket:[%s]" % inode, "another socket after restart")
    wait_until(lambda: env_of(envf).get("LISTEN_PID") == str(pid2), 5,
               "LISTEN_PID of the new process")


def test_fcgi_socket_is_fd0(sb):
    port = free_port()
    cmd, out, envf = _fd_info(sb, "f", 0)
    sb.config("[fcgi-program:f]\ncommand = %s\nsocket = tcp://127.0.0.1:%d\n"
              "startsecs = 0\n\n" % (cmd, port))
    sb.start()
    sb.wait_running("f")
    wait_until(lambda: read_text(out) and read_text(envf), 5, "the dumps")
    inode = _socket_inode(port)
    check(_fd_target(read_text(out), 0) == "socket:[%s]" % inode,
          "fd 0 is not the socket:\n%s" % read_text(out))
    check(_fd_target(read_text(out), 3) is None, "fd 3 passed to an fcgi program")
    check("LISTEN_FDS" not in env_of(envf), "LISTEN_FDS set for fcgi")


if __name__ == "__main__":
    harness.main(globals())
