#!/usr/bin/env python3
"""Log capture benchmark: superd vs supervisord vs no supervisor.

One program writes SIZE bytes (default 1 GiB) to its stdout as fast as it
can (dd from /dev/zero, 1 MiB blocks), then a marker line. Measured, in
one run on this machine, each REPS times (median shown):
  - limit:       the same writer straight into a file, no supervisor;
  - superd:      stdout_logfile, maxbytes=0, and rotating 50MB x 5;
  - supervisord: the same two configs (Debian's supervisor package).
Wall time runs from the first byte in the log until the marker is there
(every byte written); for the limit, the writer's own run time. CPU is
the supervisor's utime+stime over that time (/proc/PID/stat). Not run by
ctest:

    SUPERD_BIN=build/bin python3 tests/bench/bench_logs.py [--size MiB] [--reps N] [--warmup N]
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

MARKER = b"END-OF-BENCH\n"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def writer_cmd(mib):
    return ("dd if=/dev/zero bs=1M count=%d status=none; printf '%s'"
            % (mib, MARKER.decode().replace("\n", "\\n")))


def current_done(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < len(MARKER):
                return False
            f.seek(-len(MARKER), os.SEEK_END)
            return f.read() == MARKER
    except OSError:
        return False


def has_bytes(path):
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


def watch(path, sup_pid, timeout=300):
    """(wall seconds, supervisor CPU seconds) from first byte to marker."""
    deadline = time.monotonic() + timeout
    while not has_bytes(path):
        if time.monotonic() > deadline:
            raise RuntimeError("no output in %s" % path)
        time.sleep(0.001)
    t0 = time.monotonic()
    c0 = cpu_seconds(sup_pid) if sup_pid else 0.0
    # Reading the file while it grows slows its writer down a lot (page
    # locks): look for the marker only once the size stands still.
    last = -1
    while True:
        try:
            now = os.stat(path).st_size
        except OSError:
            now = -1
        if now == last and current_done(path):
            break
        last = now
        if time.monotonic() > deadline:
            raise RuntimeError("marker never reached %s" % path)
        time.sleep(0.002)
    t1 = time.monotonic()
    c1 = cpu_seconds(sup_pid) if sup_pid else 0.0
    return t1 - t0, c1 - c0


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except OSError:
        pass
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def total_size(path):
    d, base = os.path.split(path)
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
               if f == base or f.startswith(base + "."))


def run_limit(tmp, mib):
    """The writer alone: its own run time (polling its file slows it)."""
    log = os.path.join(tmp, "limit.log")
    t0 = time.monotonic()
    subprocess.run(["/bin/sh", "-c", "(%s) > %s" % (writer_cmd(mib), log)], check=True)
    return time.monotonic() - t0, 0.0, os.path.getsize(log)


def program_keys(log, rotate):
    return ("stdout_logfile=%s\nstdout_logfile_maxbytes=%s\nstdout_logfile_backups=5\n"
            "stderr_logfile=NONE\nstartsecs=0\nautorestart=false\n"
            % (log, "50MB" if rotate else "0"))


def run_superd(tmp, mib, rotate, bindir):
    log = os.path.join(tmp, "superd.log")
    conf = os.path.join(tmp, "superd.conf")
    with open(conf, "w") as f:
        f.write("[superd]\nchildlogdir=%s\npidfile=%s/superd.pid\n\n"
                "[control]\nsocket=%s/superd.sock\n\n"
                "[program:w]\ncommand=/bin/sh -c \"%s; exec sleep 1000\"\n%s"
                % (tmp, tmp, tmp, writer_cmd(mib), program_keys(log, rotate)))
    proc = subprocess.Popen([os.path.join(bindir, "superd"), "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "superd.err"), "w"),
                            start_new_session=True, cwd=tmp)
    try:
        wall, cpu = watch(log, proc.pid)
        got = total_size(log)
    finally:
        stop(proc)
    return wall, cpu, got


def run_supervisord(tmp, mib, rotate):
    log = os.path.join(tmp, "sv.log")
    conf = os.path.join(tmp, "supervisord.conf")
    with open(conf, "w") as f:
        f.write("[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/sv.pid\n"
                "childlogdir=%s\n\n"
                "[program:w]\ncommand=/bin/sh -c \"%s; exec sleep 1000\"\n%s"
                % (tmp, tmp, tmp, writer_cmd(mib), program_keys(log, rotate)))
    proc = subprocess.Popen(["supervisord", "-n", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, cwd=tmp)
    try:
        wall, cpu = watch(log, proc.pid)
        got = total_size(log)
    finally:
        stop(proc)
    return wall, cpu, got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1024, help="MiB to write (default 1024)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1,
                    help="unrecorded rounds first: a VM's page cache is slow until its memory is warm")
    ap.add_argument("--dir", default=None, help="where the logs go (default: a temp dir)")
    ap.add_argument("--bin", default=os.environ.get("SUPERD_BIN", "build/bin"))
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    have_sv = shutil.which("supervisord") is not None
    if not have_sv:
        print("supervisord not installed: its columns are skipped")
    cases = [("limit", None)]
    for rotate in (False, True):
        cases.append(("superd", rotate))
        if have_sv:
            cases.append(("supervisord", rotate))
    results = {}
    for rep in range(-args.warmup, args.reps):
        for who, rotate in cases:
            tmp = tempfile.mkdtemp(prefix="bench-logs-", dir=args.dir)
            try:
                subprocess.run(["sync"])
                if who == "limit":
                    r = run_limit(tmp, args.size)
                elif who == "superd":
                    r = run_superd(tmp, args.size, rotate, args.bin)
                else:
                    r = run_supervisord(tmp, args.size, rotate)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            if rep >= 0:
                results.setdefault((who, rotate), []).append(r)
            expect = args.size << 20 if who == "limit" or not rotate else None
            if expect is not None and r[2] != expect + len(MARKER):
                print("  %s: %d bytes in the log, not %d" % (who, r[2], expect + len(MARKER)))
            print("  rep %d %-11s %-9s %.3f s  %.2f CPU-s" % (
                rep + 1 if rep >= 0 else 0, who, "-" if rotate is None else ("rotate" if rotate else "no-rotate"),
                r[0], r[1]), file=sys.stderr)
    gib = args.size / 1024.0
    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
           for k, v in results.items()}
    print("\n%d MiB, median of %d (best in brackets), on %d CPUs" % (args.size, args.reps, os.cpu_count()))
    print("%-12s %-10s %16s %9s %14s %10s" % ("who", "rotation", "wall s", "MiB/s", "CPU s", "CPU s/GiB"))
    for (who, rotate), (wall, cpu) in med.items():
        best_wall = min(x[0] for x in results[(who, rotate)])
        best_cpu = min(x[1] for x in results[(who, rotate)])
        print("%-12s %-10s %7.3f [%6.3f] %9.0f %5.2f [%5.2f] %10.2f" % (
            who, "-" if rotate is None else ("50MBx5" if rotate else "none"),
            wall, best_wall, args.size / wall, cpu, best_cpu, cpu / gib))
    limit = med[("limit", None)][0]
    for rotate in (False, True):
        name = "rotation 50MBx5" if rotate else "no rotation"
        sd = med[("superd", rotate)]
        line = "%s: superd throughput %.0f%% of the limit" % (name, 100 * limit / sd[0])
        if ("supervisord", rotate) in med:
            sv = med[("supervisord", rotate)]
            line += ", %.2fx supervisord's, CPU per GiB %.2f vs %.2f (1/%.1f)" % (
                sv[0] / sd[0], sd[1] / gib, sv[1] / gib, sv[1] / sd[1] if sd[1] > 0 else float("inf"))
        print(line)


if __name__ == "__main__":
    main()
