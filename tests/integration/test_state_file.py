"""[superd] state_file (SPEC.md section 10, issue 11): what an operator did
by hand survives a restart of superd, until the next start/stop or until
the program's definition changes; a missing, corrupt or unwritable file
only costs a message."""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, program, skip, holds_for, read_text  # noqa: E402


def conf(sb, *progs, state=None):
    state = state or sb.path("var", "state.json")
    os.makedirs(os.path.dirname(state), exist_ok=True) if "missing" not in state else None
    sb.config(*progs, superd={"state_file": state})
    rc, out, err = sb.run_superd("-t", "-c", sb.conf)
    if "unknown key 'state_file'" in out + err:
        skip("config does not parse state_file yet")
    return state


def restart(sb):
    proc = sb.daemon
    os.kill(proc.pid, signal.SIGTERM)
    check(proc.wait(15) == 0, "superd exits cleanly: %s" % sb.log(proc))
    sb._client = None   # the old daemon's connection is gone
    return sb.start()


def test_stopped_by_hand_stays_stopped(sb):
    state = conf(sb, program("a", "sleep 1000"), program("b", "sleep 1000"))
    sb.start()
    sb.wait_running("a", "b")
    check("state file" in sb.log() and "none yet" in sb.log(), "a missing file is info")
    check(sb.call("process.stop", {"names": ["a"]}) == [{"name": "a", "ok": True}], "stop")
    doc = json.loads(read_text(state))
    check(doc["processes"]["a"]["action"] == "stopped", "written at the stop: %r" % doc)
    check(not [f for f in os.listdir(os.path.dirname(state)) if f != "state.json"],
          "no temp file left: %r" % os.listdir(os.path.dirname(state)))
    restart(sb)
    sb.wait_running("b")
    holds_for(lambda: sb.proc("a")["state"] == "STOPPED", 1.0)
    check("stopped by hand" in sb.log(), "logged why a stays stopped: %s" % sb.log())
    # The next start is remembered too.
    sb.call("process.start", {"names": ["a"]})
    restart(sb)
    sb.wait_running("a", "b")


def test_started_by_hand_starts_again(sb):
    conf(sb, program("job", "sleep 1000", autostart="false"))
    sb.start()
    check(sb.proc("job")["state"] == "STOPPED", "autostart=false")
    sb.call("process.start", {"names": ["job"]})
    restart(sb)
    sb.wait_running("job")
    sb.call("process.stop", {"names": ["job"]})
    restart(sb)
    holds_for(lambda: sb.proc("job")["state"] == "STOPPED", 1.0)


def test_changed_definition_forgets(sb):
    conf(sb, program("a", "sleep 1000"))
    sb.start()
    sb.wait_running("a")
    sb.call("process.stop", {"names": ["a"]})
    conf(sb, program("a", "sleep 999"))
    restart(sb)
    sb.wait_running("a")
    check("definition changed" in sb.log(), "logged: %s" % sb.log())


def test_corrupt_file_only_warns(sb):
    state = conf(sb, program("a", "sleep 1000"))
    with open(state, "w") as f:
        f.write("{\"version\": 1, \"processes\": {\"a\": ")
    sb.start()
    sb.wait_running("a")
    check("WARN" in sb.log() and "corrupt" in sb.log(), "a warning: %s" % sb.log())
    # And it is replaced by a good one at the next action.
    sb.call("process.stop", {"names": ["a"]})
    check(json.loads(read_text(state))["processes"]["a"]["action"] == "stopped", "rewritten")


def test_wrong_shape_only_warns(sb):
    state = conf(sb, program("a", "sleep 1000"))
    with open(state, "w") as f:
        json.dump({"version": 1, "processes": {"a": {"action": 5}}}, f)
    sb.start()
    sb.wait_running("a")
    check("malformed" in sb.log(), "a warning: %s" % sb.log())


def test_directory_that_does_not_exist(sb):
    conf(sb, program("a", "sleep 1000"), state=sb.path("missing", "state.json"))
    proc = sb.start()
    sb.wait_running("a")
    check("does not exist" in sb.log(), "a warning at load: %s" % sb.log())
    check(sb.call("process.stop", {"names": ["a"]}) == [{"name": "a", "ok": True}],
          "the stop works")
    check(sb.call("process.start", {"names": ["a"]}) == [{"name": "a", "ok": True}],
          "the start works")
    check(proc.poll() is None, "superd alive")


if __name__ == "__main__":
    harness.main(globals())
