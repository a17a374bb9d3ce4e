"""process.reload (SPEC.md section 8, issue 10): reload_signal goes to the
main pid only and the process stays RUNNING; without it a rolling restart
never has two processes of a program down at once; a process that is not
running is started. Observed through events.subscribe."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (check, holds_for, program, read_text, skip,  # noqa: E402
                     states_until, wait_until)


def needs_keys(sb, *keys):
    """Skip when this build's config parser does not know a key yet."""
    rc, out, err = sb.run_superd("-t", "-c", sb.conf)
    for k in keys:
        if "unknown key '%s'" % k in out + err:
            skip("config does not parse %s yet" % k)


def web3(sb, **keys):
    settings = dict(numprocs=3, process_name="%(program_name)s_%(process_num)d", startsecs=1)
    settings.update(keys)
    return program("web", "sleep 1000", **settings)


NAMES = ["web:web_0", "web:web_1", "web:web_2"]


def test_rolling_reload_keeps_two_of_three_up(sb):
    sb.config(web3(sb))
    sb.start()
    before = sb.wait_running(*NAMES, timeout=15)
    ev = sb.rpc()
    ev.call("events.subscribe")
    t0 = time.time()
    res = sb.call("process.reload", {"names": ["web"]}, timeout=40)
    check(all(r["ok"] for r in res) and sorted(r["name"] for r in res) == NAMES,
          "reload result %r" % res)
    after = {n: sb.proc(n) for n in NAMES}
    for n in NAMES:
        check(after[n]["state"] == "RUNNING" and after[n]["pid"] != before[n],
              "%s replaced: %r (was pid %d)" % (n, after[n], before[n]))
    # Every process left RUNNING once and came back; never two down.
    seen = states_until(ev, lambda s: sum(1 for e in s if e["to"] == "RUNNING") >= 3, 10)
    down, worst, order = set(), 0, []
    for e in seen:
        check(e["time"] >= t0 - 1, "event time %r" % e)
        if e["from"] == "RUNNING":
            down.add(e["name"])
            order.append(e["name"])
        elif e["to"] == "RUNNING":
            down.discard(e["name"])
        worst = max(worst, len(down))
    check(worst == 1, "at most one process down at a time, saw %d: %r"
          % (worst, [(e["name"], e["to"]) for e in seen]))
    check(sorted(order) == NAMES, "each restarted exactly once: %r" % order)


def test_reload_waits_for_ready_before_the_next(sb):
    # The next one stops only after the previous is RUNNING (startsecs=1).
    sb.config(web3(sb))
    sb.start()
    sb.wait_running(*NAMES, timeout=15)
    ev = sb.rpc()
    ev.call("events.subscribe")
    sb.call("process.reload", {"names": ["web"]}, timeout=40)
    seen = states_until(ev, lambda s: sum(1 for e in s if e["to"] == "RUNNING") >= 3, 10)
    running_at = {e["name"]: e["time"] for e in seen if e["to"] == "RUNNING"}
    stop_at = {e["name"]: e["time"] for e in seen if e["to"] == "STOPPING"}
    names = sorted(stop_at, key=stop_at.get)
    for prev, nxt in zip(names, names[1:]):
        check(stop_at[nxt] >= running_at[prev],
              "%s stopped at %.3f before %s was RUNNING at %.3f"
              % (nxt, stop_at[nxt], prev, running_at[prev]))
        check(running_at[prev] - stop_at[prev] >= 0.9, "startsecs waited for %s" % prev)


def test_reload_starts_a_stopped_process(sb):
    sb.config(program("job", "sleep 1000", autostart="false"))
    sb.start()
    check(sb.proc("job")["state"] == "STOPPED", "not autostarted")
    res = sb.call("process.reload", {"names": ["job"]}, timeout=20)
    check(res == [{"name": "job", "ok": True}], "result %r" % res)
    check(sb.proc("job")["state"] == "RUNNING", "started by reload")


def test_reload_without_wait_answers_at_once(sb):
    sb.config(web3(sb, startsecs=2))
    sb.start()
    before = sb.wait_running(*NAMES, timeout=20)
    t = time.monotonic()
    c = sb.rpc()
    res = c.call("process.reload", {"names": ["web"], "wait": False}, timeout=10)
    check(time.monotonic() - t < 1.5, "wait=false did not wait")
    check(all(r["ok"] for r in res) and len(res) == 3, "result %r" % res)
    c.close()   # the roll goes on without the client
    wait_until(lambda: all(sb.proc(n)["state"] == "RUNNING" and sb.proc(n)["pid"] != before[n]
                           for n in NAMES), 30, "every process replaced")


def test_reload_of_unknown_name_fails(sb):
    sb.config(program("a", "sleep 1000"))
    sb.start()
    harness.expect_error(lambda: sb.call("process.reload", {"names": ["nope"]}), 100)


def test_reload_stops_rolling_when_one_does_not_come_back(sb):
    # The replacement exits at once (startsecs=1, startretries=0): FATAL.
    # The other processes are left alone, still running the old version.
    flag = sb.path("broken")
    sb.script("w.sh", "[ -e %s ] && exit 3\nexec sleep 1000\n" % flag)
    sb.config(web3(sb, startretries=0).replace("sleep 1000", sb.path("w.sh")))
    sb.start()
    before = sb.wait_running(*NAMES, timeout=15)
    open(flag, "w").close()
    res = sb.call("process.reload", {"names": ["web"]}, timeout=30)
    check(not res[0]["ok"] and not res[1]["ok"] and not res[2]["ok"], "result %r" % res)
    states = {n: sb.proc(n) for n in NAMES}
    check(states[NAMES[0]]["state"] == "FATAL", "first one failed: %r" % states)
    for n in NAMES[1:]:
        check(states[n]["state"] == "RUNNING" and states[n]["pid"] == before[n],
              "%s untouched: %r" % (n, states[n]))


def test_reload_signal_goes_to_the_main_pid_only(sb):
    # The main process and its worker both note a HUP; with stopasgroup
    # the group would get a stop signal, but reload never signals it.
    main_log, worker_log = sb.path("main.hup"), sb.path("worker.hup")
    sb.script("srv.sh", """
trap 'echo hup >> %s' HUP
sh -c 'trap "echo hup >> %s" HUP; echo $$ > %s; while :; do sleep 0.1; done' &
echo ready > %s
while :; do sleep 0.1; done
""" % (main_log, worker_log, sb.path("worker.pid"), sb.path("main.ready")))
    sb.config(program("srv", sb.path("srv.sh"), reload_signal="HUP", stopasgroup="true",
                      killasgroup="true"))
    needs_keys(sb, "reload_signal")
    sb.start()
    pid = sb.wait_running("srv")["srv"]
    wait_until(lambda: os.path.exists(sb.path("main.ready")) and
               read_text(sb.path("worker.pid")).strip(), 10, "traps installed")
    res = sb.call("process.reload", {"names": ["srv"]}, timeout=10)
    check(res == [{"name": "srv", "ok": True}], "result %r" % res)
    wait_until(lambda: read_text(main_log).count("hup") == 1, 5, "main got HUP")
    # A misdirected HUP would show within half a second.
    check(holds_for(lambda: read_text(worker_log) == "", 0.5), "the worker must not get HUP")
    p = sb.proc("srv")
    check(p["state"] == "RUNNING" and p["pid"] == pid, "still RUNNING, same pid: %r" % p)


def test_config_update_and_sighup_share_one_path(sb):
    # Both send RELOADING=1 and READY=1 to systemd and log the diff.
    import socket
    addr = sb.path("notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(addr)
    s.settimeout(10)
    sb.config(program("a", "sleep 1000"))
    proc = sb.start(env={"NOTIFY_SOCKET": addr})

    def recv_until(word):
        while word not in s.recv(4096).decode():
            pass
    recv_until("READY=1")
    sb.config(program("a", "sleep 1000"), program("b", "sleep 1000"))
    sb.call("config.update")
    recv_until("RELOADING=1")
    recv_until("READY=1")
    wait_until(lambda: "reload: added b" in sb.log(proc), 5, "the diff logged for update")
    sb.config(program("a", "sleep 1000"))
    proc.send_signal(__import__("signal").SIGHUP)
    recv_until("RELOADING=1")
    recv_until("READY=1")
    wait_until(lambda: "reload: removed b" in sb.log(proc), 5, "the diff logged for SIGHUP")
    s.close()


def test_reopen_and_sigusr2_reopen_the_same_files(sb):
    # Both log the one message of the one function.
    sb.config(program("a", "sleep 1000"))
    proc = sb.start()
    sb.call("daemon.reopen_logs")
    proc.send_signal(__import__("signal").SIGUSR2)
    wait_until(lambda: sb.log(proc).count("log files reopened") == 2, 5,
               "both reopen through supervisor_reopen_logs")


def test_superctl_reload(sb):
    sb.config(program("a", "sleep 1000"))
    sb.start()
    pid = sb.wait_running("a")["a"]
    r = sb.ctl("reload", "a")
    if "unknown command" in (r.stdout + r.stderr).lower():
        skip("superctl has no reload command yet")
    check(r.returncode == 0, "superctl reload: %r" % (r.stdout + r.stderr))
    p = sb.proc("a")
    check(p["state"] == "RUNNING" and p["pid"] != pid, "restarted: %r" % p)


if __name__ == "__main__":
    harness.main(globals())
