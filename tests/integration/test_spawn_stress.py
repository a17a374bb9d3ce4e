"""A stress run of the production spawn path (issue 9): the sanitizer
builds fork instead of clone(CLONE_VM|CLONE_VFORK), so the path real users
run never runs under ASan. Thousands of spawns, then: every child saw
only fds 0-2, no blocked and no ignored signal; every exit code was 0;
superd holds no more fds than before, its signal mask is unchanged and no
zombie is left. SUPERD_STRESS_SPAWNS scales it (default 10000); the
ctest label `stress` lets a quick run leave it out (-LE stress)."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, program, read_text, wait_until  # noqa: E402

SPAWNS = int(os.environ.get("SUPERD_STRESS_SPAWNS", "10000"))
PER_BATCH = 100     # processes started by one process.start


def proc_status_field(pid, field):
    for line in read_text("/proc/%d/status" % pid).splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def test_spawn_stress(sb):
    n_status, n_fds = 20, 20
    n_true = PER_BATCH - n_status - n_fds
    logs = sb.path("out")
    os.makedirs(logs)
    common = dict(autostart="false", autorestart="false", startretries=0,
                  stdout_logfile="%s/%%(program_name)s_%%(process_num)02d.log" % logs,
                  process_name="%(program_name)s_%(process_num)02d")
    sb.config(program("status", "cat /proc/self/status", numprocs=n_status, **common),
              program("fds", "ls /proc/self/fd", numprocs=n_fds, **common),
              program("true", "true", numprocs=n_true, **common))
    sb.start()
    superd = sb.daemon.pid
    names = [p["name"] for p in sb.processes()]
    check(len(names) == PER_BATCH, "expected %d processes, got %d" % (PER_BATCH, len(names)))
    mask_before = proc_status_field(superd, "SigBlk")
    fds_before = None

    batches = max(1, SPAWNS // PER_BATCH)
    t0 = time.monotonic()
    for b in range(batches):
        sb.call("process.start", {"names": names, "wait": False})

        def all_exited():
            ps = sb.processes()
            return ps if all(p["state"] == "EXITED" for p in ps) else None
        ps = wait_until(all_exited, 30, "batch %d to exit" % b, interval=0.01)
        bad = [(p["name"], p["exitstatus"], p["spawnerr"]) for p in ps if p["exitstatus"] != 0]
        check(not bad, "batch %d: nonzero exits %s" % (b, bad[:5]))
        if b == 0:
            # Log files open at the first spawn and stay open.
            fds_before = harness.fd_count(superd)
    elapsed = time.monotonic() - t0
    print("  %d spawns in %.1fs (%.0f/s)" % (batches * PER_BATCH, elapsed,
                                              batches * PER_BATCH / elapsed))

    # What each child saw of itself.
    for i in range(n_status):
        text = read_text("%s/status_%02d.log" % (logs, i))
        blk = re.findall(r"^SigBlk:\s*(\S+)$", text, re.M)
        ign = re.findall(r"^SigIgn:\s*(\S+)$", text, re.M)
        check(len(blk) == batches and len(ign) == batches,
              "status_%02d: %d of %d runs logged" % (i, len(blk), batches))
        check(all(int(x, 16) == 0 for x in blk), "a child started with blocked signals: %s"
              % sorted(set(blk)))
        check(all(int(x, 16) == 0 for x in ign), "a child started with ignored signals: %s"
              % sorted(set(ign)))
    for i in range(n_fds):
        # ls's own directory fd is the lowest free one: 3 when 0-2 are
        # all a child has.
        runs = read_text("%s/fds_%02d.log" % (logs, i)).split("0\n")[1:]
        check(len(runs) == batches, "fds_%02d: %d of %d runs logged" % (i, len(runs), batches))
        leaked = [r for r in runs if r != "1\n2\n3\n"]
        check(not leaked, "a child had more than 0-2 open: %r" % leaked[:3])

    # superd itself: no fd, mask or zombie left behind.
    check(proc_status_field(superd, "SigBlk") == mask_before,
          "superd's signal mask changed: %s" % proc_status_field(superd, "SigBlk"))
    wait_until(lambda: harness.fd_count(superd) <= fds_before, 5,
               "superd's fds back to %d (now %d)" % (fds_before, harness.fd_count(superd)))
    check(not harness.children_of(superd), "children left: %s" % harness.children_of(superd))


if __name__ == "__main__":
    harness.main(globals())
