#!/usr/bin/env python3
"""superd against supervisord (Debian's `supervisor`), side by side, one run.

    python3 tests/bench/bench_engine.py [--bin build/bin] [--programs 500]

Measures, for both daemons on this machine:
  cold start   N programs (`sleep 1000`, startsecs=0) from launching the
               daemon until its API reports every one RUNNING
  restart      a RUNNING program killed with SIGKILL: from the kill to the
               new instance's first instruction (it appends a timestamp)
  idle         100 programs, nothing happening: syscalls the daemon makes
               in 5 s (strace -c -f) and its RSS
  stop all     100 programs: `superctl stop all` vs `supervisorctl stop all`
and prints each result and the ratio. Ratios, not absolute times, are what
to compare across machines. Not part of the pass/fail suite.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return UnixHTTPConnection(self.path)


def poll(fn, timeout, interval=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError("timed out")


class Superd:
    name = "superd"

    def __init__(self, bindir, root):
        self.bindir, self.root = bindir, root
        self.sock = os.path.join(root, "s.sock")
        self.conf = os.path.join(root, "superd.conf")
        self.proc = None

    def write_config(self, programs):
        with open(self.conf, "w") as f:
            f.write("[superd]\nchildlogdir = %s/logs\n\n[control]\nsocket = %s\n\n"
                    % (self.root, self.sock))
            for name, command, extra in programs:
                f.write("[program:%s]\ncommand = %s\nstartsecs = 0\nstopwaitsecs = 5\n"
                        "stdout_logfile = NONE\nstderr_logfile = NONE\n%s\n"
                        % (name, command, extra))

    def start(self):
        os.makedirs(os.path.join(self.root, "logs"), exist_ok=True)
        self.proc = subprocess.Popen([os.path.join(self.bindir, "superd"), "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

    def _call(self, method, params=None):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.sock)
        msg = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params:
            msg["params"] = params
        s.sendall(json.dumps(msg).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
        s.close()
        return json.loads(buf)["result"]

    def states(self):
        try:
            return {p["name"]: (p["state"], p["pid"]) for p in self._call("process.list")}
        except (OSError, ValueError, KeyError):
            return None

    def ctl(self, *args):
        return [os.path.join(self.bindir, "superctl"), "-s", self.sock] + list(args)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Supervisord(Superd):
    name = "supervisord"

    def write_config(self, programs):
        with open(self.conf, "w") as f:
            f.write("[unix_http_server]\nfile = %s\n\n"
                    "[supervisord]\nnodaemon = true\nlogfile = %s/sv.log\npidfile = %s/sv.pid\n"
                    "childlogdir = %s/logs\nminfds = 4096\n\n"
                    "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
                    "supervisor.rpcinterface:make_main_rpcinterface\n\n"
                    "[supervisorctl]\nserverurl = unix://%s\n\n"
                    % (self.sock, self.root, self.root, self.root, self.sock))
            for name, command, extra in programs:
                f.write("[program:%s]\ncommand = %s\nstartsecs = 0\nstopwaitsecs = 5\n"
                        "stdout_logfile = NONE\nstderr_logfile = NONE\n%s\n"
                        % (name, command, extra))

    def start(self):
        os.makedirs(os.path.join(self.root, "logs"), exist_ok=True)
        self.proc = subprocess.Popen(["supervisord", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

    def states(self):
        try:
            server = xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport(self.sock))
            return {p["name"]: (p["statename"], p["pid"]) for p in server.supervisor.getAllProcessInfo()}
        except (OSError, xmlrpc.client.Error, http.client.HTTPException):
            return None

    def ctl(self, *args):
        return ["supervisorctl", "-c", self.conf] + list(args)


def read_lines(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def all_running(daemon, n):
    states = daemon.states()
    return states is not None and len(states) == n and all(s == "RUNNING" for s, _ in states.values())


def cold_start(cls, bindir, n):
    root = tempfile.mkdtemp(prefix="bench-%s-" % cls.name)
    d = cls(bindir, root)
    d.write_config([("p%04d" % i, "/bin/sleep 1000", "") for i in range(n)])
    try:
        started = time.monotonic()
        d.start()
        poll(lambda: all_running(d, n), 120, 0.01)
        return time.monotonic() - started
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def restart_latency(cls, bindir, rounds):
    root = tempfile.mkdtemp(prefix="bench-%s-" % cls.name)
    stamp = os.path.join(root, "stamps")
    d = cls(bindir, root)
    # The program's first act is to record the time; then it idles.
    # bash's $EPOCHREALTIME needs no fork, unlike date.
    cmd = "/bin/bash -c 'echo $EPOCHREALTIME >> %s; exec sleep 1000'" % stamp
    d.write_config([("crash", cmd, "autorestart = true\n")])
    samples = []
    try:
        d.start()
        poll(lambda: all_running(d, 1), 30)
        for count in range(1, rounds + 1):
            # `>>` creates the file before date writes to it: wait for the
            # line of the instance about to be killed.
            poll(lambda: len(read_lines(stamp)) >= count, 10)
            # Wait past the 1 s crash-loop guard so we measure the plain
            # restart path of a program that ran for a while.
            time.sleep(1.1)
            pid = poll(lambda: (d.states() or {}).get("crash", ("", 0))[1], 10)
            t0 = time.time()
            os.kill(pid, signal.SIGKILL)
            lines = poll(lambda: read_lines(stamp)[count:], 10, 0.001)
            samples.append(float(lines[0]) - t0)
        return statistics.median(samples)
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def spawn_baseline(rounds):
    """What the measured chain (fork, exec bash, one echo) costs by
    itself, started from here: subtract it to see the supervisor's part."""
    root = tempfile.mkdtemp(prefix="bench-base-")
    stamp = os.path.join(root, "stamps")
    samples = []
    try:
        for count in range(1, rounds + 1):
            t0 = time.time()
            subprocess.Popen(["/bin/bash", "-c", "echo $EPOCHREALTIME >> %s" % stamp]).wait()
            samples.append(float(read_lines(stamp)[count - 1]) - t0)
        return statistics.median(samples)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def idle_and_stop(cls, bindir, n):
    root = tempfile.mkdtemp(prefix="bench-%s-" % cls.name)
    d = cls(bindir, root)
    d.write_config([("p%04d" % i, "/bin/sleep 1000", "") for i in range(n)])
    try:
        d.start()
        poll(lambda: all_running(d, n), 60, 0.02)
        time.sleep(1)
        syscalls = -1
        if shutil.which("strace"):
            out = subprocess.run(["timeout", "-s", "INT", "5", "strace", "-c", "-f", "-p", str(d.proc.pid)],
                                 capture_output=True, text=True).stderr
            m = re.search(r"^\s*100\.00\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total", out, re.M)
            syscalls = int(m.group(1)) if m else 0
        rss = 0
        for line in open("/proc/%d/status" % d.proc.pid):
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        started = time.monotonic()
        subprocess.run(d.ctl("stop", "all"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop_time = time.monotonic() - started
        return syscalls, rss, stop_time
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def ratio(a, b):
    return float("inf") if b == 0 else a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build", "bin"))
    ap.add_argument("--programs", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=10)
    opts = ap.parse_args()
    bindir = os.path.realpath(opts.bin)
    if not shutil.which("supervisord"):
        sys.exit("supervisord not installed (apt-get install supervisor)")

    print("cold start of %d programs until all RUNNING" % opts.programs)
    a = cold_start(Superd, bindir, opts.programs)
    b = cold_start(Supervisord, bindir, opts.programs)
    print("  superd %.3f s   supervisord %.3f s   superd is %.1fx faster" % (a, b, ratio(b, a)))

    print("restart after SIGKILL of a RUNNING program, median of %d" % opts.rounds)
    a = restart_latency(Superd, bindir, opts.rounds)
    b = restart_latency(Supervisord, bindir, opts.rounds)
    base = spawn_baseline(opts.rounds)
    print("  superd %.1f ms   supervisord %.1f ms   superd is %.1fx faster"
          % (a * 1e3, b * 1e3, ratio(b, a)))
    print("  (the bash start alone, started directly: %.1f ms; superd's own part %.1f ms)"
          % (base * 1e3, (a - base) * 1e3))

    print("100 idle programs: syscalls in 5 s, RSS; then stop all")
    sa, ra, ta = idle_and_stop(Superd, bindir, 100)
    sb, rb, tb = idle_and_stop(Supervisord, bindir, 100)
    print("  syscalls: superd %d   supervisord %d" % (sa, sb))
    print("  RSS: superd %d KiB   supervisord %d KiB   superd uses %.3f of it" % (ra, rb, ratio(ra, rb)))
    print("  stop all: superd %.3f s   supervisord %.3f s   superd takes %.3f of it"
          % (ta, tb, ratio(ta, tb)))


if __name__ == "__main__":
    main()
