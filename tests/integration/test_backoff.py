"""Restart policy (SPEC.md section 10, issue 11): backoff=exponential
waits 1, 2, 4 s ... up to backoff_max with up to 10% jitter, for failed
starts and for unexpected exits after a run shorter than backoff_reset
(in EXITED, never FATAL); a longer run restarts at once and starts the
delays over. Linear stays supervisord's 1, 2, 3 s."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, program, read_text, wait_until, holds_for  # noqa: E402

# Tolerance: the jitter (10%) and a busy machine (late, never early).
EARLY, LATE = 0.1, 0.6


def stamps(path):
    return [float(x) for x in read_text(path).split()]


def crasher(sb, name, run="", rc=1):
    """A program that notes each start, runs `run` (shell), exits rc."""
    log = sb.path("%s.stamps" % name)
    sb.script("%s.sh" % name, "date +%%s.%%N >> %s\n%s\nexit %d\n" % (log, run, rc))
    return sb.path("%s.sh" % name), log


def gaps_of(log, n, timeout):
    wait_until(lambda: len(stamps(log)) >= n + 1, timeout, "%d starts" % (n + 1))
    t = stamps(log)
    return [b - a for a, b in zip(t, t[1:])][:n]


def check_gaps(gaps, want, run=0.0):
    for i, (g, w) in enumerate(zip(gaps, want)):
        lo, hi = w * (1 - EARLY) + run - 0.05, w * (1 + EARLY) + run + LATE
        check(lo <= g <= hi, "delay %d was %.2fs, want %.1fs (+%.1fs run) +-10%%: %s"
              % (i + 1, g, w, run, ["%.2f" % x for x in gaps]))


def test_exponential_after_short_runs(sb):
    # RUNNING at once (startsecs=0), dies at once: each exit is a short
    # run, so it waits 1, 2, 4, 4 s in EXITED and never goes FATAL.
    cmd, log = crasher(sb, "crash")
    sb.config(program("crash", cmd, startsecs=0, startretries=0, autorestart="unexpected",
                      backoff="exponential", backoff_max=4, backoff_reset=60))
    sb.start()
    gaps = gaps_of(log, 4, 20)
    check_gaps(gaps, [1, 2, 4, 4])
    sb.wait_state("crash", "EXITED", timeout=2)
    check(holds_for(lambda: sb.proc("crash")["state"] != "FATAL", 1.0), "went FATAL")


def test_exponential_failed_starts(sb):
    # Exits within startsecs: BACKOFF 1, 2, 4 s, then FATAL after
    # startretries as ever.
    cmd, log = crasher(sb, "bad")
    sb.config(program("bad", cmd, startsecs=1, startretries=3, backoff="exponential",
                      backoff_max=60))
    sb.start()
    p, seen = sb.wait_state("bad", "FATAL", timeout=15)
    check("BACKOFF" in seen, "no BACKOFF: %s" % seen)
    t = stamps(log)
    check(len(t) == 4, "expected 1+3 attempts, got %d" % len(t))
    check_gaps([b - a for a, b in zip(t, t[1:])], [1, 2, 4])


def test_backoff_reset_long_run_restarts_at_once(sb):
    # Each run lasts 1.5 s, longer than backoff_reset=1: restarted at once
    # every time (with delays it would be 1.5+1, 1.5+2, 1.5+4).
    cmd, log = crasher(sb, "slow", run="sleep 1.5")
    sb.config(program("slow", cmd, startsecs=0, autorestart="unexpected",
                      backoff="exponential", backoff_max=8, backoff_reset=1))
    sb.start()
    gaps = gaps_of(log, 3, 15)
    for g in gaps:
        check(1.4 <= g <= 1.5 + LATE, "run+restart took %.2fs: not at once (%s)"
              % (g, ["%.2f" % x for x in gaps]))


def test_backoff_reset_short_run_waits_in_exited(sb):
    # Runs of 0.5 s under backoff_reset=5: the delays grow, counted from
    # each exit, and the process waits in EXITED.
    cmd, log = crasher(sb, "flaky", run="sleep 0.5")
    sb.config(program("flaky", cmd, startsecs=0, autorestart="unexpected",
                      backoff="exponential", backoff_max=8, backoff_reset=5))
    sb.start()
    wait_until(lambda: len(stamps(log)) >= 3, 10, "3 starts")
    # Now in the 4 s wait (after 2 short runs it is the third delay).
    sb.wait_state("flaky", "EXITED", timeout=3)
    check(holds_for(lambda: sb.proc("flaky")["state"] == "EXITED", 2.0),
          "did not wait in EXITED")
    gaps = gaps_of(log, 3, 15)
    check_gaps(gaps, [1, 2, 4], run=0.5)


def test_expected_exit_not_delayed(sb):
    # backoff applies to unexpected exits only: exit 0 with
    # autorestart=true restarts as supervisord does (once a second at most).
    cmd, log = crasher(sb, "ok", rc=0)
    sb.config(program("ok", cmd, startsecs=0, autorestart="true", backoff="exponential",
                      backoff_max=8, backoff_reset=60))
    sb.start()
    gaps = gaps_of(log, 4, 10)
    shown = ["%.2f" % x for x in gaps]
    # Each stamp is taken by the child once it runs, so one slow start
    # makes one gap longer and the next shorter by as much: bound each
    # gap loosely and their mean tightly. Exponential delays (2, 4 s)
    # or no limit at all (~0 s) still fail.
    for g in gaps:
        check(0.7 <= g <= 1.0 + LATE, "expected exits delayed: %s" % shown)
    check(sum(gaps) / len(gaps) >= 0.95, "restarts faster than once a second: %s" % shown)


def test_linear_unchanged(sb):
    cmd, log = crasher(sb, "lin")
    sb.config(program("lin", cmd, startsecs=1, startretries=3, backoff="linear"))
    sb.start()
    sb.wait_state("lin", "FATAL", timeout=15)
    t = stamps(log)
    for i, g in enumerate([b - a for a, b in zip(t, t[1:])]):
        check(i + 1 - 0.05 <= g <= i + 1 + LATE, "linear delay %d was %.2fs" % (i + 1, g))


if __name__ == "__main__":
    harness.main(globals())
