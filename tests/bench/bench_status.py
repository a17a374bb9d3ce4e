#!/usr/bin/env python3
"""superctl against supervisorctl, side by side, one run, same machine.

    python3 tests/bench/bench_status.py [--bin build/bin] [--sizes 100,1000]
                                        [--runs 30] [--add 100] [--no-update]
                                        [--against OLD_SUPERCTL]

  list     superd's own share: process.list on a raw socket, request to
           the reply's last byte (median)
  status   `superctl status` and `supervisorctl status` with N programs
           (`sleep`, all RUNNING), timed by hyperfine when installed, else by
           a loop of runs; the median is compared.
  update   with the largest N running, 100 more programs are added to the
           config: `superctl update` / `supervisorctl update`, then time
           until the API shows all of them RUNNING.
  against  with --against, `superctl status` of this build and of another
           superctl binary (an older build), run alternately against the
           same superd so that the shared machine's noise hits both alike:
           issue 9 wants the jansson superctl within 2x of the old one.
Prints each figure and the ratio supervisorctl/superctl. Goals (issue 5):
status at least 50x faster than supervisorctl and under 10 ms for 1000.
Not part of the pass/fail suite.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def poll(fn, timeout, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError("timed out")


def raise_nofile():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def names(n, start=0):
    return ["p%05d" % i for i in range(start, start + n)]


class Superd:
    name = "superd"

    def __init__(self, bindir, root):
        self.ctl = os.path.join(bindir, "superctl")
        self.daemon = os.path.join(bindir, "superd")
        self.root = root
        self.sock = os.path.join(root, "superd.sock")
        self.conf = os.path.join(root, "superd.conf")
        os.makedirs(os.path.join(root, "logs"), exist_ok=True)
        self.proc = None

    def write_config(self, progs):
        with open(self.conf, "w") as f:
            f.write("[superd]\nchildlogdir = %s/logs\n\n[control]\nsocket = %s\n\n"
                    "[superctl]\nsocket = %s\n\n" % (self.root, self.sock, self.sock))
            for p in progs:
                f.write("[program:%s]\ncommand = /bin/sleep 100000\nstartsecs = 0\n"
                        "stopwaitsecs = 5\nstdout_logfile = NONE\nstderr_logfile = NONE\n\n" % p)

    def start(self):
        self.proc = subprocess.Popen([self.daemon, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.root, "superd.err"), "wb"),
                                     start_new_session=True)

    def status_cmd(self):
        return [self.ctl, "-c", self.conf, "status"]

    def update_cmd(self):
        return [self.ctl, "-c", self.conf, "update"]

    def running(self):
        r = subprocess.run([self.ctl, "-c", self.conf, "--json", "status"],
                           capture_output=True, text=True)
        if r.returncode not in (0, 3) or not r.stdout.strip():
            return 0
        return sum(1 for p in json.loads(r.stdout) if p["state"] == "RUNNING")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            subprocess.run([self.ctl, "-c", self.conf, "-t", "60", "shutdown"],
                           capture_output=True)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Supervisord:
    name = "supervisord"

    def __init__(self, root):
        self.root = root
        self.sock = os.path.join(root, "sv.sock")
        self.conf = os.path.join(root, "supervisord.conf")
        self.proc = None

    def write_config(self, progs):
        with open(self.conf, "w") as f:
            f.write("[unix_http_server]\nfile = %s\n\n[supervisord]\nlogfile = %s/sv.log\n"
                    "pidfile = %s/sv.pid\nchildlogdir = %s\nnodaemon = true\nminfds = 16384\n"
                    "minprocs = 4096\n\n[rpcinterface:supervisor]\n"
                    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface"
                    "\n\n[supervisorctl]\nserverurl = unix://%s\n\n"
                    % (self.sock, self.root, self.root, self.root, self.sock))
            for p in progs:
                f.write("[program:%s]\ncommand = /bin/sleep 100000\nstartsecs = 0\n"
                        "stopwaitsecs = 5\nstdout_logfile = NONE\nstderr_logfile = NONE\n\n" % p)

    def start(self):
        self.proc = subprocess.Popen(["supervisord", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

    def status_cmd(self):
        return ["supervisorctl", "-c", self.conf, "status"]

    def update_cmd(self):
        return ["supervisorctl", "-c", self.conf, "update"]

    def running(self):
        r = subprocess.run(self.status_cmd(), capture_output=True, text=True)
        return sum(1 for line in r.stdout.splitlines() if " RUNNING " in line)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            subprocess.run(["supervisorctl", "-c", self.conf, "shutdown"], capture_output=True)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def time_command(cmd, runs):
    """Median wall seconds of cmd: hyperfine when present, else a loop."""
    if shutil.which("hyperfine"):
        fd, out = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        subprocess.run(["hyperfine", "-N", "-i", "--warmup", "3", "--runs", str(runs),
                        "--export-json", out, " ".join(cmd)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        with open(out) as f:
            res = json.load(f)["results"][0]
        os.unlink(out)
        return res["median"]
    times = []
    for i in range(runs + 3):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ab_times(cmd_a, cmd_b, runs):
    """Median wall seconds of two commands run alternately."""
    ta, tb = [], []
    for i in range(runs + 3):
        for cmd, out in ((cmd_a, ta), (cmd_b, tb)):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if i >= 3:
                out.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def raw_list_time(sock_path, runs):
    """Median seconds from a process.list request to the last byte of its
    reply, on one raw connection (the daemon's share of `status`)."""
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    times = []
    for i in range(runs + 3):
        buf = bytearray()
        t0 = time.perf_counter()
        s.sendall(b'{"jsonrpc":"2.0","id":%d,"method":"process.list"}\n' % i)
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("superd closed the connection")
            buf += chunk
        if i >= 3:
            times.append(time.perf_counter() - t0)
    s.close()
    return statistics.median(times), len(buf)


def bring_up(d, n, timeout):
    d.write_config(names(n))
    t0 = time.monotonic()
    d.start()
    poll(lambda: d.running() >= n, timeout, 0.2)
    return time.monotonic() - t0


def update_time(d, n, add, timeout):
    d.write_config(names(n + add))
    t0 = time.monotonic()
    r = subprocess.run(d.update_cmd(), capture_output=True, text=True)
    if r.returncode != 0:
        print("  %s update exit %d: %s" % (d.name, r.returncode, (r.stdout + r.stderr)[-300:]))
    poll(lambda: d.running() >= n + add, timeout, 0.005)
    return time.monotonic() - t0


def ms(s):
    return "%.2f ms" % (s * 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.environ.get("SUPERD_BIN", "build/bin"))
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--add", type=int, default=100)
    ap.add_argument("--no-update", action="store_true")
    ap.add_argument("--against", help="another superctl binary to compare status with")
    args = ap.parse_args()
    bindir = os.path.realpath(args.bin)
    if not shutil.which("supervisord") or not shutil.which("supervisorctl"):
        print("supervisor (Debian's `supervisor` package) is not installed")
        return 1
    raise_nofile()
    sizes = [int(x) for x in args.sizes.split(",")]
    print("superctl vs supervisorctl on %s (%d CPUs), %s" % (
        os.uname().nodename, os.cpu_count(), "hyperfine" if shutil.which("hyperfine") else "loop"))
    rows = []
    for n in sizes:
        root = tempfile.mkdtemp(prefix="bench-status-%d-" % n)
        sd, sv = Superd(bindir, os.path.join(root, "superd")), Supervisord(os.path.join(root, "sv"))
        os.makedirs(sv.root)
        try:
            up_sd = bring_up(sd, n, 120)
            up_sv = bring_up(sv, n, 600)
            t_raw, size = raw_list_time(sd.sock, args.runs)
            print("process.list %5d programs: superd answers in %s (%d bytes, raw socket)"
                  % (n, ms(t_raw), size), flush=True)
            if args.against:
                cmd = sd.status_cmd()
                old = [os.path.realpath(args.against)] + cmd[1:]
                t_new, t_old = ab_times(cmd, old, args.runs)
                print("status %5d programs: this superctl %s, %s %s (%.2fx)"
                      % (n, ms(t_new), args.against, ms(t_old), t_new / t_old), flush=True)
            t_sd = time_command(sd.status_cmd(), args.runs)
            t_sv = time_command(sv.status_cmd(), max(5, args.runs // 3))
            rows.append(("status, %d programs" % n, t_sd, t_sv))
            print("status %5d programs: superctl %s, supervisorctl %s, ratio %.0fx "
                  "(all RUNNING after: superd %.2f s, supervisord %.2f s)"
                  % (n, ms(t_sd), ms(t_sv), t_sv / t_sd, up_sd, up_sv), flush=True)
            if n == max(sizes) and not args.no_update:
                u_sd = update_time(sd, n, args.add, 120)
                u_sv = update_time(sv, n, args.add, 600)
                rows.append(("update +%d to %d" % (args.add, n), u_sd, u_sv))
                print("update +%d to %d running: superd %s, supervisord %s, ratio %.0fx"
                      % (args.add, n, ms(u_sd), ms(u_sv), u_sv / u_sd), flush=True)
        finally:
            sd.stop()
            sv.stop()
            shutil.rmtree(root, ignore_errors=True)
    print("\n%-24s %12s %14s %8s" % ("", "superd", "supervisord", "ratio"))
    for label, a, b in rows:
        print("%-24s %12s %14s %7.0fx" % (label, ms(a), ms(b), b / a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
