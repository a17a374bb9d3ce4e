"""The control protocol (SPEC.md section 5): JSON-RPC conformance, every
method's shape and error codes, wait semantics, streams."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, expect_error, program, wait_until  # noqa: E402


def raw(sb, data, timeout=5):
    """Send raw bytes on a new connection; the first reply."""
    c = sb.rpc()
    c.send_raw(data)
    return c, c.read_message(timeout)


def started(sb, *sections):
    sb.config(*(sections or (program("web", "/bin/sleep 1000"),)))
    sb.start()
    sb.wait_running("web")


def items_ok(result):
    return all(item.get("ok") is True for item in result)


# -- JSON-RPC conformance --------------------------------------------------

def test_parse_error_keeps_connection(sb):
    started(sb)
    c, reply = raw(sb, b'{"jsonrpc": "2.0", "id": 1, "method": \n')
    check(reply["error"]["code"] == -32700, "parse error: %r" % reply)
    check("id" in reply and reply["id"] is None, "parse error id must be null: %r" % reply)
    check(reply.get("jsonrpc") == "2.0", "no jsonrpc in %r" % reply)
    check(c.call("daemon.version")["api"] == 1, "connection unusable after a parse error")


def test_unknown_method(sb):
    started(sb)
    _, reply = raw(sb, b'{"jsonrpc":"2.0","id":1,"method":"nope"}\n')
    check(reply["id"] == 1 and reply["error"]["code"] == -32601, "unknown method: %r" % reply)


def test_method_name_table(sb):
    """R03: exact match in a static table, nothing else reaches code."""
    started(sb)
    pid = sb.proc("web")["pid"]
    c = sb.rpc()
    names = ["", "status.x", "../process.list", "PROCESS.LIST", "process.List",
             "process.stop ", " process.stop", "process.stop\n", "spawn_child",
             "reload_config", "method_process_stop", "process_stop", "STOP",
             "process.stop.x", "a" * 65536]
    for name in names:
        reply = c.call_raw(name, {"names": ["web"]})
        check("error" in reply and reply["error"]["code"] in (-32601, -32600),
              "method %r answered %r" % (name[:40], reply))
    # "\u0000" inside a name is refused by the parser itself.
    c.send_raw(b'{"jsonrpc":"2.0","id":99,"method":"process.stop\\u0000x","params":{"names":["web"]}}\n')
    reply = c.read_message(5)
    check("error" in reply, "NUL in a method name answered %r" % reply)
    check(sb.proc("web")["pid"] == pid and sb.proc("web")["state"] == "RUNNING",
          "a refused method changed state")


def test_duplicate_keys_rejected(sb):
    started(sb)
    _, reply = raw(sb, b'{"jsonrpc":"2.0","id":1,"method":"process.list","method":"process.stop",'
                       b'"params":{"names":["web"]}}\n')
    check(reply["error"]["code"] == -32700, "duplicate keys: %r" % reply)
    _, reply = raw(sb, b'{"jsonrpc":"2.0","id":1,"method":"process.stop",'
                       b'"params":{"names":["web"],"names":["nosuch"]}}\n')
    check("error" in reply, "duplicate param keys accepted: %r" % reply)
    check(sb.proc("web")["state"] == "RUNNING", "web was stopped")


def test_notification_gets_no_answer(sb):
    started(sb)
    c = sb.rpc()
    c.send_raw(b'{"jsonrpc":"2.0","method":"daemon.version"}\n'
               b'{"jsonrpc":"2.0","method":"nope"}\n'
               b'{"jsonrpc":"2.0","id":"last","method":"daemon.version"}\n')
    reply = c.read_message(5)
    check(reply.get("id") == "last", "a notification was answered: %r" % reply)


def test_batch_is_invalid_request(sb):
    started(sb)
    _, reply = raw(sb, b'[{"jsonrpc":"2.0","id":1,"method":"daemon.version"}]\n')
    check(reply["error"]["code"] == -32600 and reply["id"] is None, "batch: %r" % reply)


def test_invalid_requests(sb):
    started(sb)
    c = sb.rpc()
    for line, want_id in ((b'{"id":5,"method":"daemon.version"}', 5),
                          (b'{"jsonrpc":"1.0","id":6,"method":"daemon.version"}', 6),
                          (b'{"jsonrpc":"2.0","id":7}', 7),
                          (b'{"jsonrpc":"2.0","id":8,"method":3}', 8),
                          (b'{"jsonrpc":"2.0","id":9,"method":"daemon.version","params":3}', 9)):
        c.send_raw(line + b"\n")
        reply = c.read_message(5)
        check(reply["error"]["code"] == -32600 and reply["id"] == want_id,
              "%r answered %r" % (line, reply))
    check(c.call("daemon.version")["api"] == 1, "connection unusable")


def test_pipelined_requests(sb):
    started(sb)
    c = sb.rpc()
    batch = b""
    ids = list(range(1, 11)) + ["s%d" % i for i in range(11, 21)]
    for n, i in enumerate(ids):
        method = "process.list" if n % 2 else "daemon.version"
        batch += json.dumps({"jsonrpc": "2.0", "id": i, "method": method}).encode() + b"\n"
    c.send_raw(batch)
    for n, i in enumerate(ids):
        reply = c.response(i, 10)
        want = list if n % 2 else dict
        check(isinstance(reply.get("result"), want), "reply %r: %r" % (i, reply))


def test_crlf_and_blank_lines(sb):
    started(sb)
    c = sb.rpc()
    c.send_raw(b'\n\r\n{"jsonrpc":"2.0","id":1,"method":"daemon.version"}\r\n')
    reply = c.read_message(5)
    check(reply.get("id") == 1 and "result" in reply, "CRLF request: %r" % reply)


def test_half_close_gets_reply(sb):
    """socat-style: send, shut the write side, read the answer."""
    started(sb)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sb.sock)
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"process.stop","params":{"names":["web"]}}')
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    reply = json.loads(data.split(b"\n")[0])
    check(reply["result"][0]["ok"] is True, "half-closed stop: %r" % reply)


# -- params checking --------------------------------------------------------

def test_bad_params(sb):
    started(sb)
    c = sb.rpc()
    cases = [
        ("process.start", {"names": 5}, -32602),
        ("process.start", {"names": []}, -32602),
        ("process.start", {"names": [""]}, -32602),
        ("process.start", {"names": [1]}, -32602),
        ("process.start", {"names": ["x" * 300]}, -32602),
        ("process.start", {}, -32602),
        ("process.start", {"names": ["web"], "wait": "yes"}, -32602),
        ("process.start", {"names": ["web"], "command": "/bin/sh"}, -32602),
        ("process.start", ["web"], -32602),
        ("process.list", {"uid": 0}, -32602),
        ("process.tail", {"name": "web", "bytes": -1}, -32602),
        ("process.tail", {"name": "web", "bytes": 65537}, -32602),
        ("process.tail", {"name": "web", "bytes": 1.5}, -32602),
        ("process.tail", {"name": "web", "bytes": -9223372036854775808}, -32602),
        ("process.tail", {"name": "web", "stream": "stdin"}, -32602),
        ("process.tail", {"name": "web", "follow": 1}, -32602),
        ("process.tail", {}, -32602),
        ("process.signal", {"names": ["web"], "signal": "FOO"}, 108),
        ("process.signal", {"names": ["web"], "signal": 0}, 108),
        ("process.signal", {"names": ["web"], "signal": 65}, 108),
        ("process.signal", {"names": ["web"], "signal": -9}, 108),
        ("process.signal", {"names": ["web"], "signal": "SIG" + "X" * 100}, 108),
        ("process.signal", {"names": ["web"], "signal": True}, -32602),
        ("process.signal", {"names": ["web"]}, -32602),
        ("process.stdin", {"name": "web"}, -32602),
        ("process.stdin", {"name": "web", "data": 5}, -32602),
        ("config.update", {"groups": "x" * 1000}, -32602),
        ("daemon.version", {"x": 1}, -32602),
    ]
    for method, params, code in cases:
        reply = c.call_raw(method, params)
        check("error" in reply and reply["error"]["code"] == code,
              "%s %r answered %r, wanted %d" % (method, params, reply, code))
        check(isinstance(reply["error"].get("message"), str) and reply["error"]["message"],
              "no readable message in %r" % reply)
    check(sb.proc("web")["state"] == "RUNNING", "a refused call changed web")


def test_unknown_process_100(sb):
    sb.config(program("web", "/bin/sleep 1000"), program("other", "/bin/sleep 1001", autostart="false"))
    sb.start()
    sb.wait_running("web")
    c = sb.rpc()
    for method, params in (("process.start", {"names": ["nosuch"]}),
                           ("process.stop", {"names": ["nosuch"]}),
                           ("process.restart", {"names": ["nosuch"]}),
                           ("process.signal", {"names": ["nosuch"], "signal": "HUP"}),
                           ("process.list", {"names": ["nosuch"]}),
                           ("process.tail", {"name": "nosuch"}),
                           ("process.clear_log", {"names": ["nosuch"]}),
                           ("process.stdin", {"name": "nosuch", "data": "x"})):
        e = expect_error(lambda: c.call(method, params), 100)
        check("nosuch" in e.message, "error 100 does not name it: %r" % e.message)
    # One bad name: nothing is done for the good ones.
    expect_error(lambda: c.call("process.start", {"names": ["other", "nosuch"]}), 100)
    check(sb.proc("other")["state"] == "STOPPED", "other was started despite error 100")


# -- methods ----------------------------------------------------------------

def test_daemon_version_info(sb):
    started(sb)
    v = sb.call("daemon.version")
    check(v["api"] == 1 and isinstance(v["version"], str) and v["version"], "version %r" % v)
    info = sb.call("daemon.info")
    check(info["pid"] == sb.daemon.pid, "info pid %r vs %d" % (info["pid"], sb.daemon.pid))
    check(info["state"] == "RUNNING", "state %r" % info)
    check(isinstance(info["uptime_s"], int) and info["uptime_s"] >= 0, "uptime %r" % info)
    check(info["socket"] == sb.sock, "socket %r" % info)
    check(os.path.realpath(info["config"]) == os.path.realpath(sb.conf), "config %r" % info)


def test_process_list_shape(sb):
    sb.config(program("web", "/bin/sleep 1000"),
              program("off", "/bin/sleep 1000", autostart="false", stdout_logfile="NONE"),
              program("cont", "/bin/sleep 1000", autostart="false", stdout_logfile="/dev/stdout",
                      stdout_logfile_maxbytes=0))
    sb.start()
    sb.wait_running("web")
    keys = {"name", "group", "state", "pid", "start_time", "stop_time", "uptime_s", "exitstatus",
            "spawnerr", "description", "stdout_logfile", "stderr_logfile"}
    procs = {p["name"]: p for p in sb.processes()}
    for p in procs.values():
        check(set(p) >= keys, "process object lacks %s" % (keys - set(p)))
    web, off = procs["web"], procs["off"]
    check(web["state"] == "RUNNING" and web["pid"] > 0 and web["start_time"] > 0, "web %r" % web)
    check(web["description"].startswith("pid %d, uptime " % web["pid"]), "description %r" % web)
    check(off["state"] == "STOPPED" and off["pid"] == 0, "off %r" % off)
    check(off["stdout_logfile"] == "NONE", "NONE log shown as %r" % off["stdout_logfile"])
    check(procs["cont"]["stdout_logfile"] == "/dev/stdout", "stdout log %r" % procs["cont"])
    one = sb.call("process.list", {"names": ["web"]})
    check([p["name"] for p in one] == ["web"], "filtered list %r" % one)


def test_start_stop_restart_wait(sb):
    sb.config(program("slow", "/bin/sleep 1000", startsecs=1, autostart="false"))
    sb.start()
    t = time.monotonic()
    r = sb.call("process.start", {"names": ["slow"]}, timeout=10)
    elapsed = time.monotonic() - t
    check(items_ok(r) and r[0]["name"] == "slow", "start %r" % r)
    check(elapsed >= 0.8, "start with wait answered before startsecs (%.2fs)" % elapsed)
    p = sb.proc("slow")
    check(p["state"] == "RUNNING", "after start+wait: %s" % p["state"])
    # Start of a running one succeeds.
    check(items_ok(sb.call("process.start", {"names": ["slow"]})), "start of a running one failed")
    r = sb.call("process.restart", {"names": ["slow"]}, timeout=10)
    check(items_ok(r), "restart %r" % r)
    p2 = sb.proc("slow")
    check(p2["state"] == "RUNNING" and p2["pid"] != p["pid"], "restart: %r" % p2)
    r = sb.call("process.stop", {"names": ["slow"]}, timeout=10)
    check(items_ok(r) and sb.proc("slow")["state"] == "STOPPED", "stop %r" % r)
    # Stop of a stopped one succeeds.
    check(items_ok(sb.call("process.stop", {"names": ["slow"]})), "stop of a stopped one failed")


def test_start_nowait(sb):
    sb.config(program("slow", "/bin/sleep 1000", startsecs=3, autostart="false"))
    sb.start()
    t = time.monotonic()
    r = sb.call("process.start", {"names": ["slow"], "wait": False}, timeout=10)
    check(items_ok(r) and time.monotonic() - t < 1.5, "start without wait took too long: %r" % r)
    check(sb.proc("slow")["state"] == "STARTING", "not STARTING")


def test_spawn_error_103(sb):
    sb.config(program("web", "/bin/sleep 1000"),
              program("bad", "/nonexistent/prog", autostart="false", startretries=0))
    sb.start()
    r = sb.call("process.start", {"names": ["bad"]}, timeout=10)
    check(r[0]["ok"] is False and r[0]["error"]["code"] == 103, "spawn error %r" % r)
    check("No such file" in r[0]["error"]["message"] or "ENOENT" in r[0]["error"]["message"],
          "spawn error message %r" % r[0]["error"]["message"])


def test_exited_quickly_104(sb):
    sb.config(program("quick", "/bin/sh -c 'exit 3'", startsecs=2, autostart="false",
                      startretries=0, autorestart="false"))
    sb.start()
    r = sb.call("process.start", {"names": ["quick"]}, timeout=10)
    check(r[0]["ok"] is False and r[0]["error"]["code"] == 104, "exit before RUNNING %r" % r)


def test_group_names(sb):
    sb.config(program("w", "/bin/sleep 1000", numprocs=3, process_name="w_%(process_num)02d"),
              program("web", "/bin/sleep 1000"))
    sb.start()
    sb.wait_running("web")
    r = sb.call("process.stop", {"names": ["w:*"]}, timeout=10)
    check(sorted(i["name"] for i in r) == ["w:w_00", "w:w_01", "w:w_02"] and items_ok(r),
          "group stop %r" % r)
    r = sb.call("process.start", {"names": ["w:w_01"]}, timeout=10)
    check([i["name"] for i in r] == ["w:w_01"] and items_ok(r), "one start %r" % r)
    r = sb.call("process.stop", {"names": ["all"]}, timeout=10)
    check(len(r) == 4 and items_ok(r), "stop all %r" % r)


def test_signal(sb):
    log = sb.path("hup.log")
    # The script says when its trap is in place: RUNNING (startsecs=0)
    # only means exec succeeded, not that the shell got that far.
    script = sb.script("trap.sh", "trap 'echo hup >> %s' HUP\necho ready >> %s\n"
                       "while :; do sleep 0.1; done\n" % (log, log))
    sb.config(program("web", "/bin/sh %s" % script), program("off", "/bin/sleep 1", autostart="false"))
    sb.start()
    sb.wait_running("web")
    wait_until(lambda: "ready" in harness.read_text(log), 5, "the trap to be set")
    for n, sig in enumerate(("HUP", "SIGHUP", 1)):
        r = sb.call("process.signal", {"names": ["web"], "signal": sig})
        check(items_ok(r), "signal %r: %r" % (sig, r))
        # One at a time: pending signals of one kind merge.
        wait_until(lambda: harness.read_text(log).count("hup") == n + 1, 5, "HUP %d" % (n + 1))
    r = sb.call("process.signal", {"names": ["off"], "signal": "HUP"})
    check(r[0]["ok"] is False and r[0]["error"]["code"] == 102, "signal to a stopped one %r" % r)


def test_events_subscribe(sb):
    started(sb)
    ev = sb.rpc()
    check(ev.call("events.subscribe") == {}, "subscribe result")
    sb.call("process.stop", {"names": ["web"]}, timeout=10)
    seen = []
    while not seen or seen[-1]["to"] != "STOPPED":
        n = ev.notification("process.state", 5)
        check(n.get("jsonrpc") == "2.0" and "id" not in n, "notification shape %r" % n)
        seen.append(n["params"])
    first = seen[0]
    check(set(first) >= {"name", "from", "to", "pid", "time"}, "event fields %r" % first)
    check(first["name"] == "web" and first["from"] == "RUNNING" and first["to"] == "STOPPING",
          "events %r" % seen)


def test_tail_shape(sb):
    started(sb)
    t = sb.call("process.tail", {"name": "web"})
    check(isinstance(t.get("data"), str) and isinstance(t.get("offset"), int), "tail %r" % t)
    t = sb.call("process.tail", {"name": "web", "stream": "stderr", "bytes": 0})
    check(t["data"] == "", "0 bytes gave %r" % t)


def test_tail_invalid_utf8(sb):
    sb.config(program("bin", "/bin/sh -c \"printf 'a\\\\377b\\\\n'; exec sleep 1000\""))
    sb.start()
    sb.wait_running("bin")
    t = wait_until(lambda: (lambda r: r if "b" in r["data"] else None)(
        sb.call("process.tail", {"name": "bin"})), 5, "output in the tail")
    check(t["data"].endswith("a\ufffdb\n"), "invalid UTF-8 became %r" % t["data"])


def test_tail_follow(sb):
    sb.config(program("talk", "/bin/sh -c 'i=0; while :; do echo line-$i; i=$((i+1)); sleep 0.1; done'"))
    sb.start()
    sb.wait_running("talk")
    c = sb.rpc()
    r = c.call("process.tail", {"name": "talk", "follow": True, "bytes": 0})
    check("offset" in r, "follow reply %r" % r)
    got = ""
    deadline = time.monotonic() + 5
    while got.count("\n") < 3 and time.monotonic() < deadline:
        n = c.notification("log.data", 5)["params"]
        check(n["name"] == "talk" and n["stream"] == "stdout", "log.data %r" % n)
        got += n["data"]
    check(got.count("line-") >= 3, "follow got %r" % got)
    # Other requests still work on a following connection.
    check(c.call("daemon.version")["api"] == 1, "request on a following connection")


def test_stdin(sb):
    out = sb.path("cat.out")
    sb.config(program("cat", "/bin/cat", stdin="pipe", stdout_logfile=out),
              program("web", "/bin/sleep 1000"),
              program("off", "/bin/cat", stdin="pipe", autostart="false"))
    sb.start()
    sb.wait_running("cat", "web")
    check(sb.call("process.stdin", {"name": "cat", "data": "hello\n"}) == {}, "stdin result")
    wait_until(lambda: "hello" in harness.read_text(out), 5, "hello through the pipe")
    expect_error(lambda: sb.call("process.stdin", {"name": "web", "data": "x"}), -32602)
    expect_error(lambda: sb.call("process.stdin", {"name": "off", "data": "x"}), 102)


def test_clear_log(sb):
    started(sb)
    r = sb.call("process.clear_log", {"names": ["web"]})
    check(items_ok(r) and r[0]["name"] == "web", "clear_log %r" % r)


def test_reopen_logs(sb):
    started(sb)
    check(sb.call("daemon.reopen_logs") == {}, "reopen_logs")


def test_config_reread_update_avail(sb):
    sb.config(program("web", "/bin/sleep 1000"), program("gone", "/bin/sleep 1000"))
    sb.start()
    pids = sb.wait_running("web", "gone")
    sb.config(program("web", "/bin/sleep 1000"), program("new", "/bin/sleep 1002"))
    r = sb.call("config.reread")
    check(r["added"] == ["new"] and r["removed"] == ["gone"] and r["changed"] == [], "reread %r" % r)
    avail = {a["name"]: a for a in sb.call("config.avail")}
    check(set(avail) == {"web", "new"}, "avail %r" % avail)
    check(avail["web"]["in_use"] is True and avail["new"]["in_use"] is False, "in_use %r" % avail)
    check(avail["new"]["autostart"] is True and avail["new"]["group"] == "new", "avail %r" % avail)
    r = sb.call("config.update", timeout=20)
    check(r["added"] == ["new"] and r["removed"] == ["gone"], "update %r" % r)
    new = sb.wait_running("web", "new")
    check(new["web"] == pids["web"], "unchanged web restarted")
    # An invalid config: 107 with FILE:LINE, nothing changes.
    with open(sb.conf, "a") as f:
        f.write("[program:broken]\nautostart = maybe\n")
    for method in ("config.reread", "config.update", "config.avail"):
        e = expect_error(lambda: sb.call(method), 107)
        check(sb.conf in e.message or os.path.basename(sb.conf) in e.message,
              "107 message lacks FILE:LINE: %r" % e.message)
    check(sb.wait_running("web", "new") == new, "a failed update changed something")


def test_shutdown(sb):
    started(sb)
    pid = sb.proc("web")["pid"]
    check(sb.call("daemon.shutdown") == {}, "shutdown result")
    rc = sb.daemon.wait(10)
    check(rc == 0, "superd exited %s after daemon.shutdown" % rc)
    check(not harness.alive(pid), "web survived the shutdown")
    check(not os.path.exists(sb.sock), "socket left behind")
    check(not os.path.exists(sb.sock + ".lock"), "lock file left behind")


if __name__ == "__main__":
    harness.main(globals())
