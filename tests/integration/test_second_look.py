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


if __name__ == "__main__":
    harness.main(globals())
