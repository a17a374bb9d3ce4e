"""superctl's output against reviewable files (issue 9): tests/integration/
golden/*.txt hold what `superctl status`, `help`, `reread`/`update` and the
error cases print against a real superd, with pids, uptimes, dates and the
sandbox path normalised. A change of output is a change of these files,
seen in review.

    SUPERD_BIN=build/bin python3 tests/integration/test_golden.py [-k NAME]
    SUPERD_GOLDEN_UPDATE=1 ...   rewrite the files from this build instead
"""

import difflib
import os
import re

import harness
from harness import check, program

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
UPDATE = os.environ.get("SUPERD_GOLDEN_UPDATE") == "1"


def normalise(sb, text):
    text = text.replace(sb.dir, "SANDBOX")
    text = re.sub(r"pid \d+, uptime \d+:\d\d:\d\d", "pid PID, uptime UPTIME", text)
    text = re.sub(r"\b[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M\b", "DATE", text)
    text = re.sub(r"\(pid \d+\)", "(pid PID)", text)
    text = re.sub(r"superd \d+\.\d+\.\d+\S*", "superd VERSION", text)
    return text


def transcript(sb, commands, env=None):
    """Each command as `$ superctl ARGS`, its stdout, its stderr lines led
    by `stderr: ` and its exit code."""
    out = []
    for args in commands:
        r = sb.ctl(*args, env=env)
        out.append(normalise(sb, "$ superctl %s\n" % " ".join(args)))
        out.append(normalise(sb, r.stdout))
        out.extend("stderr: %s\n" % l for l in normalise(sb, r.stderr).splitlines())
        out.append("[exit %d]\n\n" % r.returncode)
    return "".join(out)


def compare(name, got):
    path = os.path.join(GOLDEN, name)
    if UPDATE:
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(got)
        return
    check(os.path.exists(path), "%s missing (SUPERD_GOLDEN_UPDATE=1 writes it)" % path)
    with open(path) as f:
        want = f.read()
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            "golden/" + name, "this build"))
        raise harness.Failure("superctl output differs from golden/%s:\n%s" % (name, diff))


def setup(sb):
    sb.config(program("web", "/bin/sleep 1000"),
              program("worker", "/bin/sleep 1001", numprocs=2,
                      process_name="%(program_name)s_%(process_num)02d"),
              program("manual", "/bin/sleep 1002", autostart="false"),
              program("nofile", "/nonexistent/daemon", startretries="0"),
              program("once", "/bin/true", startsecs="0", autorestart="false"))
    sb.start()
    sb.wait_running("web", "worker:worker_00", "worker:worker_01")
    sb.wait_state("nofile", "FATAL")
    sb.wait_state("once", "EXITED")


def test_golden_status(sb):
    setup(sb)
    compare("status.txt", transcript(sb, [
        ["status"], ["status", "web", "worker:*"], ["status", "worker"],
        ["pid", "manual"], ["avail"]]))


def test_golden_help(sb):
    commands = [["help"]] + [["help", c] for c in (
        "status", "start", "stop", "restart", "reload", "signal", "tail", "maintail", "fg",
        "pid", "clear", "reread", "update", "avail", "reopen", "events", "shutdown",
        "version")]
    compare("help.txt", transcript(sb, commands))


def test_golden_update(sb):
    setup(sb)
    # manual goes, extra comes, web's command changes
    sb.config(program("web", "/bin/sleep 1003"),
              program("worker", "/bin/sleep 1001", numprocs=2,
                      process_name="%(program_name)s_%(process_num)02d"),
              program("nofile", "/nonexistent/daemon", startretries="0"),
              program("once", "/bin/true", startsecs="0", autorestart="false"),
              program("extra", "/bin/sleep 1004"))
    compare("update.txt", transcript(sb, [
        ["reread"], ["update"], ["update"], ["status", "web", "extra"]]))


def test_golden_errors(sb):
    setup(sb)
    compare("errors.txt", transcript(sb, [
        ["status", "nosuch"], ["start", "nosuch"], ["stop", "nosuch:*"],
        ["start", "nofile"], ["signal", "BOGUS", "web"], ["tail", "nosuch"],
        ["start"], ["tail", "-x", "web"], ["frobnicate"], ["help", "frobnicate"],
        ["-s", sb.path("nothing.sock"), "status"], ["-H", "-oProxyCommand=x", "status"]]))


if __name__ == "__main__":
    harness.main(globals())
