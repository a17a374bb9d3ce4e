"""depends_on (SPEC.md section 9, issue 11): a program starts only once
every program it depends on is RUNNING (ready), `start` pulls its
dependencies in, shutdown and `stop all` stop dependents first, and a
bad graph is a `superd -t` error. Observed through events.subscribe (the
order of notifications on one connection) and files the programs
stamp."""

import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Failure, check, free_port, program, read_text, skip,  # noqa: E402
                     states_until, wait_until)

PY = sys.executable


def slow_db(sb, port, delay=1.5):
    """A database that listens only after `delay` seconds."""
    return sb.write("db.py", """
import socket, time
time.sleep(%s)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", %d))
s.listen(16)
while True:
    c, _ = s.accept()
    c.close()
""" % (delay, port))


def stamping(sb, name, exit_delay=0.0):
    """A program that stamps its TERM (and its exit after exit_delay)."""
    return sb.script("%s.sh" % name, """
trap 'date +%%s.%%N > %s; sleep %s; date +%%s.%%N > %s; exit 0' TERM
echo up > %s
while :; do sleep 0.05; done
""" % (sb.path(name + ".term"), exit_delay, sb.path(name + ".exit"), sb.path(name + ".up")))


def index_of(seen, name, to):
    for i, e in enumerate(seen):
        if e["name"] == name and e["to"] == to:
            return i
    raise Failure("no %s -> %s in %r" % (name, to, [(e["name"], e["to"]) for e in seen]))


def check_dep_keys(sb, *keys):
    rc, out, err = sb.run_superd("-t", "-c", sb.conf)
    for k in keys:
        if "unknown key '%s'" % k in out + err:
            skip("config does not parse %s yet" % k)


def ready_conf(sb, port, **web):
    """db is ready once it listens (ready=tcp) when the build knows
    ready=; else startsecs=2 stands in for readiness."""
    db = program("db", "%s %s" % (PY, slow_db(sb, port)), priority=999,
                 ready="tcp://127.0.0.1:%d" % port, startsecs=None)
    settings = dict(depends_on="db", priority=1)
    settings.update(web)
    return db, program("web", "sleep 1000", **settings)


def test_start_order_waits_for_a_slow_database(sb):
    port = free_port()
    db, web = ready_conf(sb, port)
    # Nothing of superd runs yet: subscribe right after it listens, so
    # let db take 1.5 s, far longer than superd needs to accept us.
    sb.config(db, web)
    check_dep_keys(sb, "depends_on", "ready")
    sb.start()
    ev = sb.rpc()
    ev.call("events.subscribe")
    p = sb.proc("web")
    check(p["state"] == "STOPPED" and p["description"] == "waiting for db",
          "web waits for db: %r" % p)
    seen = states_until(ev, lambda s: any(e["name"] == "web" and e["to"] == "RUNNING"
                                          for e in s), 15)
    check(index_of(seen, "db", "RUNNING") < index_of(seen, "web", "STARTING"),
          "web started before db was ready: %r" % [(e["name"], e["to"]) for e in seen])
    # db was RUNNING only once it listened.
    s = socket.create_connection(("127.0.0.1", port), 2)
    s.close()


def test_start_pulls_in_dependencies(sb):
    port = free_port()
    db, web = ready_conf(sb, port, autostart="false")
    db = db.replace("priority = 999", "priority = 999\nautostart = false")
    sb.config(db, web)
    check_dep_keys(sb, "depends_on", "ready")
    sb.start()
    check(sb.proc("db")["state"] == "STOPPED" and sb.proc("web")["state"] == "STOPPED",
          "nothing autostarted")
    ev = sb.rpc()
    ev.call("events.subscribe")
    c = sb.rpc()
    rid = c.request("process.start", {"names": ["web"]})
    wait_until(lambda: sb.proc("db")["state"] == "STARTING", 5, "db pulled in")
    p = sb.proc("web")
    check(p["state"] == "STOPPED" and p["description"] == "waiting for db",
          "web waits: %r" % p)
    st = sb.ctl("status", "web")
    check("waiting for db" in st.stdout, "superctl status shows it: %r" % st.stdout)
    res = c.response(rid, 20)
    check(res.get("result") == [{"name": "web", "ok": True}], "start web waited: %r" % res)
    check(sb.proc("db")["state"] == "RUNNING", "db running")
    seen = states_until(ev, lambda s: any(e["name"] == "web" and e["to"] == "RUNNING"
                                          for e in s), 5)
    check(index_of(seen, "db", "RUNNING") < index_of(seen, "web", "STARTING"), "order %r" % seen)


def test_stop_of_a_waiting_process_cancels_its_start(sb):
    port = free_port()
    db, web = ready_conf(sb, port)
    sb.config(db, web)
    check_dep_keys(sb, "depends_on", "ready")
    sb.start()
    check(sb.proc("web")["description"] == "waiting for db", "waiting")
    res = sb.call("process.stop", {"names": ["web"]})
    check(res == [{"name": "web", "ok": True}], "stop result %r" % res)
    sb.wait_running("db", timeout=15)
    harness.holds_for(lambda: sb.proc("web")["state"] == "STOPPED", 1.0)


def test_start_fails_when_a_dependency_gives_up(sb):
    sb.config(program("db", "sh -c 'exit 3'", autostart="false", startsecs=1, startretries=0),
              program("web", "sleep 1000", autostart="false", depends_on="db"))
    check_dep_keys(sb, "depends_on")
    sb.start()
    t = time.monotonic()
    res = sb.call("process.start", {"names": ["web"]}, timeout=15)
    check(len(res) == 1 and not res[0]["ok"], "start web fails: %r" % res)
    check(time.monotonic() - t < 10, "and does not hang")
    check(sb.proc("db")["state"] == "FATAL" and sb.proc("web")["state"] == "STOPPED",
          "db FATAL, web never started")
    check("not started: db is FATAL" in sb.log(), "logged: %s" % sb.log())


def deps_pair(sb):
    # Priority alone would stop db (999) before web (1).
    db = program("db", stamping(sb, "db"), priority=999)
    web = program("web", stamping(sb, "web", exit_delay=1.0), priority=1, depends_on="db",
                  stopwaitsecs=5)
    sb.config(db, web)
    check_dep_keys(sb, "depends_on")


def check_web_then_db(sb):
    web_exit = float(read_text(sb.path("web.exit")))
    db_term = float(read_text(sb.path("db.term")))
    check(db_term >= web_exit, "db got TERM at %.3f before web exited at %.3f"
          % (db_term, web_exit))


def test_shutdown_stops_dependents_first(sb):
    deps_pair(sb)
    proc = sb.start()
    sb.wait_running("db", "web", timeout=10)
    wait_until(lambda: os.path.exists(sb.path("web.up")) and os.path.exists(sb.path("db.up")),
               5, "traps installed")
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(20)
    check_web_then_db(sb)


def test_stop_all_stops_dependents_first(sb):
    deps_pair(sb)
    sb.start()
    sb.wait_running("db", "web", timeout=10)
    wait_until(lambda: os.path.exists(sb.path("web.up")) and os.path.exists(sb.path("db.up")),
               5, "traps installed")
    res = sb.call("process.stop", {"names": ["all"]}, timeout=20)
    check(all(r["ok"] for r in res), "stop all %r" % res)
    check_web_then_db(sb)


def test_stop_of_a_dependency_alone_is_not_held_back(sb):
    deps_pair(sb)
    sb.start()
    sb.wait_running("db", "web", timeout=10)
    res = sb.call("process.stop", {"names": ["db"]}, timeout=10)
    check(res == [{"name": "db", "ok": True}], "stop db %r" % res)
    check(sb.proc("web")["state"] == "RUNNING", "web left alone")


def test_priority_orders_independent_programs(sb):
    sb.config(program("b", "sleep 1000", priority=5), program("a", "sleep 1000", priority=10),
              program("c", "sleep 1000", priority=1, depends_on="a"))
    check_dep_keys(sb, "depends_on")
    sb.start()
    sb.wait_running("a", "b", "c")
    log = sb.log()
    starts = [m.group(1) for m in re.finditer(r"program (\w+): STARTING", log)]
    check(starts.index("b") < starts.index("a") < starts.index("c"),
          "start order %r" % starts)


def test_cycle_and_unknown_are_config_errors(sb):
    sb.config(program("web", "sleep 1", depends_on="db"), program("db", "sleep 1", depends_on="web"))
    check_dep_keys(sb, "depends_on")
    rc, out, err = sb.run_superd("-t", "-c", sb.conf)
    check(rc != 0, "a cycle is refused")
    check(re.search(r"superd\.conf:\d+: .*(web -> db -> web|db -> web -> db)", out + err),
          "the cycle is named with FILE:LINE: %r" % (out + err))
    sb.config(program("web", "sleep 1", depends_on="nope"))
    rc, out, err = sb.run_superd("-t", "-c", sb.conf)
    check(rc != 0 and re.search(r"superd\.conf:\d+: .*nope", out + err),
          "unknown name: %r" % (out + err))
    # And superd itself refuses to start with it.
    proc = sb.launch(["-c", sb.conf])
    check(proc.wait(10) != 0, "superd refuses a bad graph")


if __name__ == "__main__":
    harness.main(globals())
