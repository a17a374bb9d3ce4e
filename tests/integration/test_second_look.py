#!/usr/bin/env python3
"""Issue 9's daemon-side defects: superd's own log ring (daemon.tail),
journald priorities, sd_notify STATUS=, the readonly_group socket, and
a follower that leaves while its process is being removed."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, expect_error, program, wait_until  # noqa: E402


def test_daemon_tail(sb):
    sb.config(program("a", "sleep 1000"))
    sb.start()
    sb.wait_running("a")
    t = sb.call("daemon.tail")
    check(isinstance(t["offset"], int) and t["offset"] >= len(t["data"].encode()),
          "offset %r" % t)
    check("a" in t["data"] and "RUNNING" in t["data"], "main log tail %r" % t["data"][-500:])
    check(t["data"].endswith("\n"), "whole lines %r" % t["data"][-80:])
    small = sb.call("daemon.tail", {"bytes": 10})
    check(len(small["data"].encode()) <= 10, "bytes bound %r" % small)
    expect_error(lambda: sb.call("daemon.tail", {"bytes": -1}), -32602)
    expect_error(lambda: sb.call("daemon.tail", {"nope": 1}), -32602)


def test_daemon_tail_follow(sb):
    sb.config(program("b", "sleep 1000", autostart="false"))
    sb.start()
    c = sb.rpc()
    t = c.call("daemon.tail", {"bytes": 0, "follow": True})
    check(t["data"] == "", "bytes 0 %r" % t)
    sb.call("process.start", {"names": ["b"]})
    got = ""
    deadline = time.monotonic() + 10
    while "RUNNING" not in got and time.monotonic() < deadline:
        n = c.notification("log.data", timeout=10)
        p = n["params"]
        check(p["name"] == "superd" and p["stream"] == "main", "notification %r" % n)
        got += p["data"]
    check("b" in got and "RUNNING" in got, "followed main log %r" % got)
    c.close()
    # The follower is gone with its connection: superd keeps logging.
    sb.call("process.stop", {"names": ["b"]})
    check("STOPPED" in sb.call("daemon.tail")["data"], "log after the follower left")


def test_follower_leaves_during_removal(sb):
    # Defect 1: a follower of a process being removed (STOPPING, no
    # longer listed) that closes while the program still writes. Under
    # ASan this was a heap-use-after-free in methods_follow_on_data.
    talker = sb.script("talker.sh",
                       "trap 'i=0; while [ $i -lt 30 ]; do echo bye$i; i=$((i+1)); "
                       "sleep 0.1; done; exit 0' TERM\n"
                       "echo ready\nwhile :; do echo tick; sleep 0.05; done\n")
    sb.config(program("talker", talker, stopwaitsecs="10"),
              program("other", "sleep 1000"))
    sb.start()
    sb.wait_running("talker", "other")
    c = sb.rpc()
    c.call("process.tail", {"name": "talker", "follow": True, "bytes": 0})
    c.notification("log.data", timeout=10)
    sb.config(program("other", "sleep 1000"))
    res = sb.call("config.update")
    check(res["removed"] == ["talker"], "update %r" % res)
    check(all(p["name"] != "talker" for p in sb.processes()), "talker still listed")
    c.close()
    # talker keeps writing for 3 s after TERM: superd must live through
    # it, answering, until talker's exit is logged.

    def talker_stopped():
        check(sb.daemon.poll() is None, "superd died: %s" % sb.log())
        sb.call("process.list")
        tail = sb.call("daemon.tail", {"bytes": 65536})["data"]
        return [line for line in tail.splitlines()
                if "talker" in line and "STOPPED" in line]
    wait_until(talker_stopped, 10, "talker's exit in superd's log", interval=0.1)
    check(sb.proc("other")["state"] == "RUNNING", "other still running")


def test_sd_notify_status(sb):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sb.path("notify.sock"))
    s.settimeout(5)
    sb.config(program("up", "sleep 1000"), program("up2", "sleep 1000"),
              program("bad", "/nonexistent/x", startretries="0"))
    sb.start(env={"NOTIFY_SOCKET": sb.path("notify.sock")})
    want = "STATUS=3 programs: 2 running, 1 fatal"
    seen = []

    def got_status():
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            raise harness.Failure("no %s; saw %r" % (want, seen))
        seen.append(msg)
        return want in msg
    wait_until(got_status, 10, want)
    # Rate-limited: stopping both gives one line soon after, not a flood.
    sb.call("process.stop", {"names": ["up", "up2"]})
    want = "STATUS=3 programs: 2 stopped, 1 fatal"
    wait_until(got_status, 10, want)
    statuses = [m for m in seen if m.startswith("STATUS=")]
    check(len(statuses) <= 8, "too many STATUS= lines %r" % statuses)
    s.close()


def _journal_run(sb, env):
    # stderr is a file here: JOURNAL_STREAM naming it makes superd write
    # as to the journal; the harness gives superd a file for stderr.
    sb.config(program("j", "sleep 1000"),
              program("bad", "/nonexistent/x", startretries="0"))
    proc = sb.launch(["-c", sb.conf], env=env)
    sb.wait_socket(proc)
    sb.daemon = proc
    sb.wait_running("j")
    return proc


def test_journald_priorities(sb):
    err = sb.path("superd-0.err")
    open(err, "w").close()
    st = os.stat(err)
    proc = _journal_run(sb, {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    check(proc.err_path == err, "harness stderr path %s" % proc.err_path)
    wait_until(lambda: "<4>program bad: FATAL" in harness.read_text(err), 10,
               "FATAL at warning priority")
    lines = [line for line in harness.read_text(err).splitlines() if line]
    check(all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines),
          "every line prefixed: %r" % lines[:5])
    check(not any(line[3:4].isdigit() for line in lines), "no own timestamp: %r" % lines[:3])
    check(any(line.startswith("<6>") and "started" in line for line in lines),
          "info at priority 6: %r" % lines[:5])


def test_journald_not_matching(sb):
    proc = _journal_run(sb, {"JOURNAL_STREAM": "1:1"})
    lines = [line for line in harness.read_text(proc.err_path).splitlines() if line]
    check(lines and all(line[:4].isdigit() for line in lines),
          "own timestamps when stderr is not the journal: %r" % lines[:3])


def test_readonly_group_socket(sb):
    # Issue 9 #6: with readonly_group the socket gets that group with
    # group read+write (connecting needs write); the peer-credential role
    # check still limits members to read-only methods.
    import grp
    import stat
    import test_api_hardening as hard
    if hard.PYTHON is None or os.geteuid() != 0:
        harness.skip("needs root and a python3 that nobody may run")
    users = grp.getgrnam("users").gr_gid
    os.chmod(sb.dir, 0o711)
    sb.config(program("web", "/bin/sleep 1000"),
              control={"socket_mode": "0700", "readonly_group": "users"})
    sb.start()
    pid = sb.wait_running("web")["web"]
    st = os.stat(sb.sock)
    check(st.st_gid == users, "socket group %d, want users (%d)" % (st.st_gid, users))
    check(stat.S_IMODE(st.st_mode) & 0o070 == 0o070,
          "socket mode %04o has no group rw" % stat.S_IMODE(st.st_mode))
    check(stat.S_IMODE(st.st_mode) & 0o007 == 0, "others gained access")
    calls = [("process.list", None), ("daemon.tail", {"bytes": 10}),
             ("process.stop", {"names": ["web"]}), ("daemon.shutdown", None)]
    replies = hard.run_as(hard.NOBODY, hard.NOGROUP, [users], sb.sock,
                          hard.requests_for(calls))
    check(replies != "EACCES", "a readonly_group member cannot connect")
    check("result" in replies[0] and "result" in replies[1],
          "read-only calls refused: %r" % replies[:2])
    check(all(r.get("error", {}).get("code") == 105 for r in replies[2:]),
          "control calls allowed: %r" % replies[2:])
    check(hard.run_as(hard.NOBODY, hard.NOGROUP, [], sb.sock,
                      hard.requests_for(calls[:1])) == "EACCES",
          "a non-member could connect")
    check(sb.proc("web")["pid"] == pid and sb.daemon.poll() is None, "a denied call acted")


if __name__ == "__main__":
    harness.main(globals())
