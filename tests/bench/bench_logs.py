#!/usr/bin/env python3
"""Log capture benchmark: superd vs supervisord vs no supervisor.

One program writes SIZE bytes (default 1 GiB) to its stdout as fast as it
can (dd from /dev/zero, 1 MiB blocks), then a marker line. Five cases, in
one run on this machine, interleaved (each rep runs every case once, in a
rotated order), REPS times, medians shown:
  - limit:       the same writer with its stdout straight into a file in
                 the same directory, no supervisor;
  - superd:      stdout_logfile, maxbytes=0, and rotating 50MB x 5;
  - supervisord: the same two configs (Debian's supervisor package).

Every case is measured the same way. The writer is one shell script that
waits for a GO file, stamps its start time (date +%s.%N) and runs dd; the
supervisor is started and the program running before GO, so the
supervisor's start-up is not timed. Wall time runs from the writer's own
start stamp until the marker ends the log (polled every 2 ms, the tail
read only once the size stands still: reading a growing file slows its
writer); CPU is the supervisor's utime+stime from GO to the marker
(/proc/PID/stat), not its children's.

Page cache: on a VM with free page reporting (Firecracker) memory freed
for a while goes back to the host and the next first touch of it is slow
(a cold 1 GiB write here took 3.5 s, a warm one 0.3 s). Dropping caches
would make every case cold; instead each case starts right after the same
warm-up: a file of SIZE + 256 MiB is written into the log directory and
deleted just before GO, so every case writes into freshly freed, warm
pages. The outputs are checked (every byte there; with rotation each
superd backup exactly maxbytes and the current file the remainder).
Not run by ctest:

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
ROTATE_BYTES = 50 * 1024 * 1024
BACKUPS = 5


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def writer_script(tmp, mib):
    """The one writer of every case; it waits for tmp/GO."""
    path = os.path.join(tmp, "writer.sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                ": > %(t)s/READY\n"
                "while [ ! -e %(t)s/GO ]; do sleep 0.001; done\n"
                "date +%%s.%%N > %(t)s/T0\n"
                "dd if=/dev/zero bs=1M count=%(mib)d status=none\n"
                "printf '%(m)s'\n"
                % {"t": tmp, "mib": mib, "m": MARKER.decode().replace("\n", "\\n")})
    os.chmod(path, 0o755)
    return path


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


def wait_file(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError("%s never appeared" % path)
        time.sleep(0.001)


def warm_and_go(tmp, mib):
    """Write then delete SIZE+256 MiB right here, then let the writer go."""
    warm = os.path.join(tmp, "warm")
    subprocess.run(["dd", "if=/dev/zero", "of=" + warm, "bs=1M",
                    "count=%d" % (mib + 256), "status=none"], check=True)
    os.unlink(warm)
    with open(os.path.join(tmp, "GO"), "w"):
        pass


def measure(tmp, mib, log, sup_pid, timeout=300):
    """(wall seconds, supervisor CPU seconds): writer start to marker."""
    wait_file(os.path.join(tmp, "READY"))
    warm_and_go(tmp, mib)
    c0 = cpu_seconds(sup_pid) if sup_pid else 0.0
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        try:
            now = os.stat(log).st_size
        except OSError:
            now = -1
        if now == last and now > 0 and current_done(log):
            break
        last = now
        if time.monotonic() > deadline:
            raise RuntimeError("marker never reached %s" % log)
        time.sleep(0.002)
    t1 = time.time()
    c1 = cpu_seconds(sup_pid) if sup_pid else 0.0
    wait_file(os.path.join(tmp, "T0"))
    with open(os.path.join(tmp, "T0")) as f:
        t0 = float(f.read())
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


def log_files(path):
    """{name: size} of path and its numbered backups."""
    d, base = os.path.split(path)
    return {f: os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
            if f == base or f.startswith(base + ".")}


def check_output(who, path, mib, rotate):
    """A complaint, or None when the log holds what it must."""
    want = (mib << 20) + len(MARKER)
    files = log_files(path)
    base = os.path.basename(path)
    if not rotate:
        got = files.get(base, -1)
        return None if got == want else "%d bytes in the log, not %d" % (got, want)
    if who != "superd":
        return None        # supervisord's files may pass maxbytes
    backups = [files.get("%s.%d" % (base, i), -1) for i in range(1, BACKUPS + 1)]
    if files.get(base) != want % ROTATE_BYTES or \
       any(b != ROTATE_BYTES for b in backups) or len(files) != BACKUPS + 1:
        return "rotated files wrong: %r" % sorted(files.items())
    return None


def run_limit(tmp, mib, rotate, bindir):
    log = os.path.join(tmp, "limit.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen([writer_script(tmp, mib)], stdout=out,
                                start_new_session=True, cwd=tmp)
    try:
        wall, cpu = measure(tmp, mib, log, None)
    finally:
        stop(proc)
    return wall, cpu, log


def program_keys(log, rotate):
    return ("stdout_logfile=%s\nstdout_logfile_maxbytes=%s\nstdout_logfile_backups=%d\n"
            "stderr_logfile=NONE\nstartsecs=0\nautorestart=false\n"
            % (log, "50MB" if rotate else "0", BACKUPS))


def program_section(tmp, mib, log, rotate):
    return ("[program:w]\ncommand=/bin/sh -c \"%s; exec sleep 1000\"\n%s"
            % (writer_script(tmp, mib), program_keys(log, rotate)))


def run_superd(tmp, mib, rotate, bindir):
    log = os.path.join(tmp, "superd.log")
    conf = os.path.join(tmp, "superd.conf")
    with open(conf, "w") as f:
        f.write("[superd]\nchildlogdir=%s\npidfile=%s/superd.pid\n\n"
                "[control]\nsocket=%s/superd.sock\n\n%s"
                % (tmp, tmp, tmp, program_section(tmp, mib, log, rotate)))
    with open(os.path.join(tmp, "superd.err"), "w") as err:
        proc = subprocess.Popen([os.path.join(bindir, "superd"), "-c", conf],
                                stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True, cwd=tmp)
    try:
        wall, cpu = measure(tmp, mib, log, proc.pid)
    finally:
        stop(proc)
    return wall, cpu, log


def run_supervisord(tmp, mib, rotate, bindir):
    log = os.path.join(tmp, "sv.log")
    conf = os.path.join(tmp, "supervisord.conf")
    with open(conf, "w") as f:
        f.write("[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/sv.pid\n"
                "childlogdir=%s\n\n%s"
                % (tmp, tmp, tmp, program_section(tmp, mib, log, rotate)))
    proc = subprocess.Popen(["supervisord", "-n", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, cwd=tmp)
    try:
        wall, cpu = measure(tmp, mib, log, proc.pid)
    finally:
        stop(proc)
    return wall, cpu, log


RUNNERS = {"limit": run_limit, "superd": run_superd, "supervisord": run_supervisord}


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1024, help="MiB to write (default 1024)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="unrecorded rounds first")
    ap.add_argument("--dir", default=None,
                    help="where the logs go (default: a temp dir under /var/tmp, on disk)")
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
    loads = [loadavg()]
    subprocess.run(["sync"])
    for rep in range(-args.warmup, args.reps):
        k = rep % len(cases)
        for who, rotate in cases[k:] + cases[:k]:
            tmp = tempfile.mkdtemp(prefix="bench-logs-", dir=args.dir or "/var/tmp")
            try:
                wall, cpu, log = RUNNERS[who](tmp, args.size, rotate, args.bin)
                bad = check_output(who, log, args.size, rotate)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            if bad:
                print("  %s %s: %s" % (who, rotate, bad))
            if rep >= 0:
                results.setdefault((who, rotate), []).append((wall, cpu))
            print("  rep %d %-11s %-9s %.3f s  %.2f CPU-s  load %s" % (
                rep + 1 if rep >= 0 else 0, who,
                "-" if rotate is None else ("rotate" if rotate else "no-rotate"),
                wall, cpu, loadavg()), file=sys.stderr)
        loads.append(loadavg())
    gib = args.size / 1024.0
    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
           for k, v in results.items()}
    print("\n%d MiB, median of %d (best in brackets), %d CPUs, 1-min load %s"
          % (args.size, args.reps, os.cpu_count(), " ".join(loads)))
    print("%-12s %-10s %16s %9s %14s %10s" % ("who", "rotation", "wall s", "MiB/s", "CPU s", "CPU s/GiB"))
    for who, rotate in cases:
        wall, cpu = med[(who, rotate)]
        best_wall = min(x[0] for x in results[(who, rotate)])
        best_cpu = min(x[1] for x in results[(who, rotate)])
        print("%-12s %-10s %7.3f [%6.3f] %9.0f %5.2f [%5.2f] %10.2f" % (
            who, "-" if rotate is None else ("50MBx5" if rotate else "none"),
            wall, best_wall, args.size / wall, cpu, best_cpu, cpu / gib))
    limit = med[("limit", None)][0]
    print("goals: >= 80% of the limit, >= 3x supervisord, <= 1/5 of its CPU per GiB")
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
