"""Program output (SPEC.md section 7, issue 4, RELIABILITY.md section D).

Log files, redirect_stderr, NONE, AUTO names, rotation without a byte
lost or duplicated, reopen (SIGUSR2 and daemon.reopen_logs), process.tail,
follow, clear_log, symlink and hard-link refusal, a full disk (small
tmpfs), a follower that never reads, superd's memory while a program
writes 1 GiB, /dev/stdout targets (never rotated, whole lines) and
timestamps.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import harness
from harness import check, program, skip, wait_until, read_text, vm_rss_kib

PY = sys.executable


def writer(sb, name, body):
    """A python program at sb/name.py; returns its command line."""
    path = sb.write(name + ".py", "import os, signal, sys, time\n" + body + "\n")
    return "%s -u %s" % (PY, path)


def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def numbered(count, width=100, start=0):
    """count lines of exactly width bytes: '000042 xxx...\\n'."""
    return "".join("%06d %s\n" % (i, "x" * (width - 8)) for i in range(start, start + count))


def superd_pid(sb):
    return sb.daemon.pid


def cpu_ticks(pid):
    st = harness.proc_stat(pid)
    return st[3] if st else 0


def test_stdout_stderr_files(sb):
    out, err = sb.path("logs", "o.log"), sb.path("logs", "e.log")
    sb.config(program("talk", "/bin/sh -c 'echo to-stdout; echo to-stderr >&2; exec sleep 1000'",
                      stdout_logfile=out, stderr_logfile=err))
    sb.start()
    sb.wait_running("talk")
    wait_until(lambda: read_text(out) == "to-stdout\n" and read_text(err) == "to-stderr\n", 5,
               "both files")
    st = os.stat(out)
    check(st.st_mode & 0o777 & ~0o640 == 0, "log mode %o is wider than 0640" % (st.st_mode & 0o777))


def test_redirect_stderr(sb):
    out, err = sb.path("logs", "o.log"), sb.path("logs", "e.log")
    sb.config(program("talk", "/bin/sh -c 'echo one; echo two >&2; echo three; exec sleep 1000'",
                      stdout_logfile=out, stderr_logfile=err, redirect_stderr="true"))
    sb.start()
    sb.wait_running("talk")
    wait_until(lambda: read_text(out) == "one\ntwo\nthree\n", 5, "all three lines in the stdout log")
    check(not os.path.exists(err), "stderr log created with redirect_stderr")
    check(sb.call("process.tail", {"name": "talk", "stream": "stderr"})["data"] == "",
          "stderr tail not empty with redirect_stderr")


def test_none_discards_but_tails(sb):
    sb.config(program("quiet", "/bin/sh -c 'echo hidden; echo hidden2 >&2; exec sleep 1000'",
                      stdout_logfile="NONE", stderr_logfile="NONE"))
    sb.start()
    sb.wait_running("quiet")
    wait_until(lambda: sb.call("process.tail", {"name": "quiet"})["data"] == "hidden\n", 5,
               "the tail of a NONE stream")
    check(os.listdir(sb.logdir) == [], "files in the log dir with NONE: %r" % os.listdir(sb.logdir))


def test_auto_names_and_childlogdir(sb):
    logdir = sb.path("made", "by", "superd")
    sb.config(program("web", "/bin/sh -c 'echo out; echo err >&2; exec sleep 1000'"),
              superd={"childlogdir": logdir})
    sb.start()
    sb.wait_running("web")
    out, err = os.path.join(logdir, "web.out.log"), os.path.join(logdir, "web.err.log")
    wait_until(lambda: read_text(out) == "out\n" and read_text(err) == "err\n", 5,
               "web.out.log and web.err.log in a childlogdir superd created")
    p = sb.proc("web")
    check(p["stdout_logfile"] == out and p["stderr_logfile"] == err,
          "process.list shows %r %r" % (p["stdout_logfile"], p["stderr_logfile"]))


def rotation_check(log, data, maxbytes, backups):
    """The files log.N ... log hold exactly the tail of data, each <= maxbytes."""
    parts = [log + ".%d" % i for i in range(backups, 0, -1)] + [log]
    for path in parts:
        check(os.path.exists(path), "%s missing" % os.path.basename(path))
        check(size(path) <= maxbytes, "%s is %d bytes > %d" % (os.path.basename(path), size(path), maxbytes))
    check(not os.path.exists(log + ".%d" % (backups + 1)), "%s.%d exists" % (log, backups + 1))
    joined = "".join(read_text(p) for p in parts)
    check(data.endswith(joined), "rotated files are not the exact tail of the output "
          "(%d bytes joined)" % len(joined))
    for path in parts[:-1]:
        check(size(path) == maxbytes, "%s is %d bytes, not exactly maxbytes" % (path, size(path)))


def test_rotation_exact(sb):
    log = sb.path("logs", "rot.log")
    data = numbered(1000)     # 100000 bytes
    src = sb.write("data.txt", data)
    # Several writers' chunk sizes: cat (big), and a line at a time.
    sb.config(program("rot", "/bin/sh -c 'cat %s; exec sleep 1000'" % src, stdout_logfile=log,
                      stdout_logfile_maxbytes="10KB", stdout_logfile_backups=2),
              program("lines", writer(sb, "lines", "for i in range(1000):\n"
                                       "    sys.stdout.write('%06d ' % i + 'x' * 92 + '\\n')\n"
                                       "signal.pause()"),
                      stdout_logfile=sb.path("logs", "lines.log"),
                      stdout_logfile_maxbytes="10KB", stdout_logfile_backups=2))
    sb.start()
    sb.wait_running("rot", "lines")
    for name in ("rot", "lines"):
        wait_until(lambda: sb.call("process.tail", {"name": name})["offset"] == len(data), 10,
                   "all of %s's output read" % name)
        path = sb.path("logs", name + ".log")
        wait_until(lambda: data.endswith(read_text(path)) and read_text(path).endswith("000999 " + "x" * 92 + "\n"),
                   5, "the last line in %s" % path)
        rotation_check(path, data, 10240, 2)


def test_rotation_backups_zero_and_maxbytes_zero(sb):
    data = numbered(300)
    src = sb.write("data.txt", data)
    cmd = "/bin/sh -c 'cat %s; exec sleep 1000'" % src
    sb.config(program("trunc", cmd, stdout_logfile=sb.path("logs", "t.log"),
                      stdout_logfile_maxbytes="10KB", stdout_logfile_backups=0),
              program("never", cmd, stdout_logfile=sb.path("logs", "n.log"),
                      stdout_logfile_maxbytes=0, stdout_logfile_backups=3))
    sb.start()
    sb.wait_running("trunc", "never")
    wait_until(lambda: read_text(sb.path("logs", "n.log")) == data, 5, "n.log complete")
    wait_until(lambda: sb.call("process.tail", {"name": "trunc"})["offset"] == len(data), 5, "trunc read")
    t = read_text(sb.path("logs", "t.log"))
    check(len(t) == len(data) % 10240 and data.endswith(t), "backups=0 did not truncate exactly: %d" % len(t))
    extra = [f for f in os.listdir(sb.logdir) if not f.endswith(".err.log")]
    check(sorted(extra) == ["n.log", "t.log"], "extra files %r" % extra)


def test_reopen_sigusr2_and_rpc(sb):
    log = sb.path("logs", "app.log")
    cmd = writer(sb, "ticker", "i = 0\nwhile True:\n    print('tick %d' % i)\n    i += 1\n    time.sleep(0.02)")
    sb.config(program("app", cmd, stdout_logfile=log))
    sb.start()
    sb.wait_running("app")
    wait_until(lambda: "tick 3\n" in read_text(log), 5, "ticks in app.log")
    os.rename(log, log + ".moved")
    os.kill(superd_pid(sb), signal.SIGUSR2)
    wait_until(lambda: os.path.exists(log) and "tick" in read_text(log), 5,
               "a new app.log after SIGUSR2")
    check(sb.proc("app")["state"] == "RUNNING", "app not RUNNING after reopen")
    os.rename(log, log + ".moved2")
    check(sb.call("daemon.reopen_logs") == {}, "daemon.reopen_logs result")
    wait_until(lambda: os.path.exists(log) and "tick" in read_text(log), 5,
               "a new app.log after daemon.reopen_logs")
    # Nothing lost across the two moves: the ticks are consecutive.
    joined = read_text(log + ".moved") + read_text(log + ".moved2") + read_text(log)
    nums = [int(n) for n in re.findall(r"^tick (\d+)$", joined, re.M)]
    check(nums == list(range(nums[0], nums[0] + len(nums))), "ticks lost or duplicated across reopen")


def test_tail(sb):
    data = "".join("line-%04d\n" % i for i in range(600))   # 6000 bytes
    src = sb.write("data.txt", data)
    sb.config(program("talk", "/bin/sh -c 'cat %s; exec sleep 1000'" % src,
                      stdout_logfile=sb.path("logs", "t.log")))
    sb.start()
    sb.wait_running("talk")
    wait_until(lambda: sb.call("process.tail", {"name": "talk", "bytes": 0})["offset"] == len(data), 5,
               "all output read")
    t = sb.call("process.tail", {"name": "talk", "bytes": 100})
    check(t["data"] == data[-100:] and t["offset"] == len(data), "tail 100: %r" % t)
    check(sb.call("process.tail", {"name": "talk"})["data"] == data[-1600:], "default tail not 1600 bytes")
    check(sb.call("process.tail", {"name": "talk", "bytes": 65536})["data"] == data, "whole tail")
    t = sb.call("process.tail", {"name": "talk", "stream": "stderr"})
    check(t["data"] == "" and t["offset"] == 0, "stderr tail %r" % t)


def test_tail_ring_is_last_64k(sb):
    data = numbered(3000)      # 300000 bytes
    src = sb.write("data.txt", data)
    sb.config(program("big", "/bin/sh -c 'cat %s; exec sleep 1000'" % src,
                      stdout_logfile=sb.path("logs", "b.log"), stdout_logfile_maxbytes="50KB",
                      stdout_logfile_backups=1))
    sb.start()
    sb.wait_running("big")
    wait_until(lambda: sb.call("process.tail", {"name": "big", "bytes": 0})["offset"] == len(data), 5,
               "all output read")
    t = sb.call("process.tail", {"name": "big", "bytes": 65536})
    check(t["data"] == data[-65536:], "the ring is not the last 64 KiB (%d bytes)" % len(t["data"]))


def test_follow(sb):
    cmd = writer(sb, "slow", "for i in range(50):\n    print('f%d' % i)\n    time.sleep(0.02)\nsignal.pause()")
    sb.config(program("slow", cmd, autostart="false", stdout_logfile=sb.path("logs", "s.log")))
    sb.start()
    c = sb.rpc()
    t = c.call("process.tail", {"name": "slow", "follow": True, "bytes": 0})
    check(t["data"] == "", "initial tail %r" % t)
    sb.call("process.start", {"names": ["slow"]})
    got = ""
    deadline = time.monotonic() + 10
    while "f49\n" not in got and time.monotonic() < deadline:
        n = c.notification("log.data", timeout=10)
        p = n["params"]
        check(p["stream"] == "stdout" and p["name"] in ("slow", "slow:slow"), "notification %r" % n)
        got += p["data"]
    check(got == "".join("f%d\n" % i for i in range(50)), "followed data %r" % got[:200])


def test_clear_log(sb):
    log = sb.path("logs", "c.log")
    data = numbered(250)       # 25000 bytes: c.log.1, c.log.2 and c.log
    src = sb.write("data.txt", data)
    sb.config(program("c", "/bin/sh -c 'cat %s; exec sleep 1000'" % src, stdout_logfile=log,
                      stdout_logfile_maxbytes="10KB", stdout_logfile_backups=3))
    sb.start()
    sb.wait_running("c")
    wait_until(lambda: sb.call("process.tail", {"name": "c", "bytes": 0})["offset"] == len(data), 5, "read")
    backup = read_text(log + ".1")
    res = sb.call("process.clear_log", {"names": ["c"]})
    check(all(r.get("ok") for r in res), "clear_log %r" % res)
    check(size(log) == 0, "c.log is %d bytes after clear" % size(log))
    check(read_text(log + ".1") == backup, "backups changed by clear (kept, as supervisord)")
    check(sb.call("process.tail", {"name": "c"})["data"] == "", "tail not empty after clear")
    check(sb.proc("c")["state"] == "RUNNING", "c not RUNNING after clear")


def plant_test(sb, make_trap):
    logdir = sb.path("userdir")
    os.makedirs(logdir)
    victim = sb.path("victim")
    with open(victim, "w") as f:
        f.write("SECRET\n")
    os.chmod(victim, 0o600)
    log = os.path.join(logdir, "out.log")
    make_trap(victim, log)
    sb.config(program("evil", "/bin/sh -c 'echo PWNED; exec sleep 1000'", stdout_logfile=log))
    sb.start()
    sb.wait_running("evil")
    wait_until(lambda: sb.call("process.tail", {"name": "evil"})["data"] == "PWNED\n", 5,
               "output in the tail even without a file")
    check(read_text(victim) == "SECRET\n", "victim changed: %r" % read_text(victim))
    wait_until(lambda: "out.log" in sb.log() and "refused" in sb.log(), 5, "the refusal in superd's log")
    # SIGUSR2 must not follow it either.
    os.kill(superd_pid(sb), signal.SIGUSR2)
    wait_until(lambda: "log files reopened" in sb.log(), 5, "the reopen")
    check(read_text(victim) == "SECRET\n", "victim changed after reopen")
    check(sb.proc("evil")["state"] == "RUNNING", "program not RUNNING")


def test_symlink_refused(sb):
    plant_test(sb, lambda victim, log: os.symlink(victim, log))


def test_hardlink_refused(sb):
    plant_test(sb, lambda victim, log: os.link(victim, log))


def mount_tmpfs(sb, path, size_kib):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk" % size_kib, "tmpfs", path],
                       capture_output=True)
    if r.returncode != 0:
        skip("cannot mount a tmpfs here: %s" % r.stderr.decode(errors="replace").strip())
    sb.mounts = getattr(sb, "mounts", []) + [path]


def umount_all(sb):
    for path in getattr(sb, "mounts", []):
        subprocess.run(["umount", "-l", path], capture_output=True)


def test_disk_full(sb):
    logdir = sb.path("full")
    mount_tmpfs(sb, logdir, 64)
    try:
        log = os.path.join(logdir, "noisy.log")
        cmd = writer(sb, "noisy", "i = 0\nwhile True:\n"
                     "    sys.stdout.write('noise %08d %s\\n' % (i, 'y' * 80))\n"
                     "    i += 1\n"
                     "    if i % 100 == 0: time.sleep(0.001)")
        sb.config(program("noisy", cmd, stdout_logfile=log, stdout_logfile_maxbytes="40KB",
                          stdout_logfile_backups=3))
        sb.start()
        pid = sb.wait_running("noisy")["noisy"]
        wait_until(lambda: "bytes lost" in sb.log(), 10, "a lost-bytes warning")
        t0, c0 = time.monotonic(), cpu_ticks(superd_pid(sb))
        time.sleep(3)
        cpu = (cpu_ticks(superd_pid(sb)) - c0) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - t0)
        check(harness.alive(superd_pid(sb)), "superd died on a full disk")
        p = sb.proc("noisy")
        check(p["state"] == "RUNNING" and p["pid"] == pid, "noisy not RUNNING in its first run: %r" % p)
        check(sb.log().count("bytes lost") <= 2, "lost-bytes warnings not rate limited:\n" + sb.log())
        check(cpu < 0.5, "superd used %.0f%% CPU on a full disk" % (cpu * 100))
        # Free the space: logging resumes within 2 s.
        for name in os.listdir(logdir):
            if name != "noisy.log":
                os.unlink(os.path.join(logdir, name))
        with open(log, "r+") as f:
            f.truncate(0)
        wait_until(lambda: "noise" in read_text(log), 3, "logging to resume after space came back")
    finally:
        if sb.daemon:
            sb.daemon.kill()
            sb.daemon.wait(5)
        umount_all(sb)


def test_follower_that_never_reads(sb):
    log = sb.path("logs", "fast.log")
    total = 64 << 20
    cmd = "/bin/sh -c 'head -c %d /dev/zero | tr \"\\\\0\" x; exec sleep 1000'" % total
    sb.config(program("fast", cmd, autostart="false", stdout_logfile=log,
                      stdout_logfile_maxbytes=0))
    sb.start()
    lazy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(sb.sock)
    lazy.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "process.tail",
                             "params": {"name": "fast", "follow": True}}).encode() + b"\n")
    time.sleep(0.2)
    sb.call("process.start", {"names": ["fast"]})
    wait_until(lambda: size(log) == total, 60, "all 64 MiB in the log despite a stuck follower")
    check(sb.proc("fast")["state"] == "RUNNING", "fast not RUNNING")
    pid = superd_pid(sb)
    rss = vm_rss_kib(pid)
    check(rss < harness.rss_bound_kib(pid, 30 * 1024), "superd RSS %d KiB with a stuck follower" % rss)
    lazy.close()


def test_rss_bound_1gib(sb):
    log = sb.path("logs", "flood.log")
    cmd = "/bin/sh -c 'head -c 1073741824 /dev/zero; exec sleep 1000'"
    sb.config(program("flood", cmd, stdout_logfile=log, stdout_logfile_maxbytes="50MB",
                      stdout_logfile_backups=1),
              program("flood2", "/bin/sh -c 'yes | head -c 268435456; exec sleep 1000'",
                      stdout_logfile="NONE"))
    sb.start()
    sb.wait_running("flood", "flood2")
    peak = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        peak = max(peak, vm_rss_kib(superd_pid(sb)))
        if sb.call("process.tail", {"name": "flood", "bytes": 0})["offset"] >= 1 << 30:
            break
        time.sleep(0.05)
    check(sb.call("process.tail", {"name": "flood", "bytes": 0})["offset"] == 1 << 30,
          "1 GiB not read in time")
    check(peak < harness.rss_bound_kib(superd_pid(sb), 30 * 1024), "superd VmRSS peaked at %d KiB while a program wrote 1 GiB" % peak)
    check(size(log) <= 50 * 1000 * 1000 or size(log) <= 50 << 20, "flood.log over maxbytes")


def test_dev_stdout_never_rotated_whole_lines(sb):
    # Two programs write lines in pieces to superd's stdout: no line may
    # mix them, and maxbytes=1KB must not rotate or fail.
    body = ("tag = sys.argv[1]\n"
            "for i in range(200):\n"
            "    sys.stdout.write(tag * 30); sys.stdout.flush(); time.sleep(0.001)\n"
            "    sys.stdout.write(tag * 30 + ' %d\\n' % i); sys.stdout.flush()\n"
            "signal.pause()")
    cmd = writer(sb, "piece", body)
    sb.config(program("a", cmd + " A", stdout_logfile="/dev/stdout", stdout_logfile_maxbytes="1KB"),
              program("b", cmd + " B", stdout_logfile="/dev/fd/1", stdout_logfile_maxbytes="1KB"),
              program("c", "/bin/sh -c 'echo to-superd-stderr >&2; exec sleep 1000'",
                      stderr_logfile="/dev/stderr"))
    proc = sb.start()
    sb.wait_running("a", "b", "c")
    out = proc.out_path
    wait_until(lambda: read_text(out).count("\n") >= 400, 10, "400 lines on superd's stdout")
    lines = [l for l in read_text(out).splitlines() if l.startswith(("A", "B"))]
    check(len(lines) == 400, "%d lines from a and b" % len(lines))
    for l in lines:
        check(re.fullmatch(r"(A{60}|B{60}) \d+", l), "interleaved line %r" % l)
    wait_until(lambda: "to-superd-stderr" in read_text(proc.err_path), 5, "stderr target")
    check(not [f for f in os.listdir(sb.dir) if re.match(r"superd-\d\.(out|err)\.\d", f)],
          "rotated superd's stdout: %r" % os.listdir(sb.dir))
    check(sb.proc("a")["state"] == "RUNNING", "a not running")


def test_timestamps(sb):
    log = sb.path("logs", "ts.log")
    sb.config(program("ts", "/bin/sh -c 'echo first; echo second; exec sleep 1000'",
                      stdout_logfile=log, stdout_logfile_timestamps="true"))
    sb.start()
    sb.wait_running("ts")
    wait_until(lambda: read_text(log).count("\n") == 2, 5, "two lines")
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d "
    check(re.fullmatch(stamp + "first\n" + stamp + "second\n", read_text(log)),
          "timestamped file %r" % read_text(log))
    check(sb.call("process.tail", {"name": "ts"})["data"] == "first\nsecond\n", "tail has no timestamps")


def test_restart_keeps_appending(sb):
    log = sb.path("logs", "r.log")
    sb.config(program("r", "/bin/sh -c 'echo run; exec sleep 1000'", stdout_logfile=log))
    sb.start()
    sb.wait_running("r")
    wait_until(lambda: read_text(log) == "run\n", 5, "first run")
    sb.call("process.restart", {"names": ["r"]})
    wait_until(lambda: read_text(log) == "run\nrun\n", 5, "second run appended")
    t = sb.call("process.tail", {"name": "r"})
    check(t["data"] == "run\nrun\n" and t["offset"] == 8, "tail across restarts %r" % t)


if __name__ == "__main__":
    harness.main(globals())
