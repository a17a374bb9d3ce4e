"""superd as PID 1, as in a container (etc/container/Dockerfile), tested
without a container engine: `unshare --pid --fork --mount-proc` makes superd
the first process of a new pid namespace (RELIABILITY.md R42, R43).

- orphans it did not start are adopted and reaped: a program double-forks
  200 short sleeps (and one long one); no zombie is left, the long one is
  superd's child, and superd keeps answering;
- SIGTERM from outside: every program gets TERM, in reverse priority
  order, and superd exits 0 within stopwaitsecs + 1 s.

Skips when unshare is missing or not permitted (needs root or user
namespaces).
"""

import os
import shutil
import signal
import subprocess
import time

import harness
from harness import check, skip, wait_until

UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc")


def require_unshare():
    if not shutil.which("unshare"):
        skip("unshare is not installed (util-linux)")
    r = subprocess.run(list(UNSHARE) + ["true"], capture_output=True)
    if r.returncode != 0:
        skip("unshare --pid --fork --mount-proc is not permitted here: %s"
             % r.stderr.decode(errors="replace").strip())


def start_pid1(sb):
    """Start superd in a new pid namespace; (unshare Popen, host pid of superd)."""
    proc = sb.launch(["-c", sb.conf], prefix=UNSHARE)
    sb.wait_socket(proc)
    sb.daemon = proc
    kids = wait_until(lambda: harness.children_of(proc.pid), 5, "superd under unshare")
    superd = kids[0]
    with open("/proc/%d/status" % superd) as f:
        nspid = [l.split()[-1] for l in f if l.startswith("NSpid:")]
    check(nspid and nspid[0] == "1", "superd is not PID 1 in its namespace: NSpid %r" % nspid)
    check(sb.call("daemon.info")["pid"] in (1, superd), "daemon.info pid")
    return proc, superd


def test_reaps_orphans(sb):
    require_unshare()
    # Each ( sleep & ) leaves a sleep whose parent has exited: the kernel
    # hands it to PID 1, which must reap it when it ends.
    spawner = sb.script("spawner.sh", """
i=0
while [ $i -lt 200 ]; do
	( sleep 0.1 & )
	i=$((i + 1))
done
( sleep 31.5 & )
exec sleep 1000
""")
    sb.config(harness.program("spawner", spawner, stopasgroup="true"))
    proc, superd = start_pid1(sb)
    sb.wait_running("spawner")

    def long_orphan():
        # Forked last: once it exists, all 200 short ones were forked.
        for pid in harness.descendants(superd):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if f.read() == b"sleep\x0031.5\x00":
                        return pid
            except OSError:
                pass
        return None
    orphan = wait_until(long_orphan, 10, "the spawner to fork its orphans")
    check(harness.proc_stat(orphan)[1] == superd,
          "the orphan's parent is %d, not superd (%d)" % (harness.proc_stat(orphan)[1], superd))

    def zombies():
        return [p for p in harness.descendants(superd)
                if (harness.proc_stat(p) or ("?",))[0] == "Z"]
    def short_sleeps():
        found = []
        for pid in harness.descendants(superd):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if f.read() == b"sleep\x000.1\x00":
                        found.append(pid)
            except OSError:
                pass
        return found

    # The 200 sleeps end 0.1 s after they start; every one must be reaped.
    # A zombie may exist for the moment between an exit and its reaping,
    # so the test waits for the end state: no short sleep left, alive or
    # zombie, and no zombie at all.
    wait_until(lambda: not zombies() and not short_sleeps(), 5,
               "no zombies (left: %r)" % zombies())
    check(sb.proc("spawner")["state"] == "RUNNING", "spawner is not RUNNING")
    check(proc.poll() is None, "superd (PID 1) exited")
    print("  200 double-forked orphans reaped; long orphan %d adopted by superd %d"
          % (orphan, superd))


def test_term_stops_in_reverse_priority_and_exits_0(sb):
    require_unshare()
    order = sb.path("order")
    ready = sb.path("ready")
    sections = []
    for name, prio in (("first", 10), ("second", 20), ("third", 30)):
        # Each says when its trap is set: RUNNING (startsecs=0) only
        # means exec succeeded, not that the shell got that far.
        script = sb.script("%s.sh" % name, """
trap 'echo "%s $(date +%%s%%N)" >> %s; exit 0' TERM
echo up >> %s
while :; do sleep 0.05; done
""" % (name, order, ready))
        sections.append(harness.program(name, script, priority=prio, stopwaitsecs=3))
    sb.config(*sections)
    proc, superd = start_pid1(sb)
    sb.wait_running("first", "second", "third")
    wait_until(lambda: harness.read_text(ready).count("up") == 3, 5, "the traps to be set")
    started = time.monotonic()
    os.kill(superd, signal.SIGTERM)
    try:
        rc = proc.wait(3 + 1)
    except subprocess.TimeoutExpired:
        raise harness.Failure("superd did not exit within stopwaitsecs + 1 s")
    took = time.monotonic() - started
    check(rc == 0, "superd exited %d, expected 0: %s" % (rc, sb.log(proc)))
    lines = [l.split() for l in harness.read_text(order).splitlines()]
    names = [l[0] for l in lines]
    check(names == ["third", "second", "first"],
          "programs got TERM in the order %r, expected third, second, first" % names)
    times = [int(l[1]) for l in lines]
    check(times == sorted(times), "TERM time stamps are not increasing: %r" % times)
    print("  TERM to PID 1: stopped third, second, first; exit 0 after %.2f s" % took)


if __name__ == "__main__":
    harness.main(globals())
