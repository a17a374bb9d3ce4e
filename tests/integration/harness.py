"""Shared helpers for superd's integration tests (Python 3 stdlib only).

A test file defines functions `test_xxx(sb)` and ends with
`harness.main(globals())`. Each test gets a Sandbox: a fresh temp dir with
its own config, control socket and log dir; superd runs in the foreground
in its own session and everything it started is killed afterwards, by pid.
Nothing here sleeps to synchronise: conditions are polled with deadlines.

Environment: SUPERD_BIN (dir holding superd and superctl), SUPERD_SRC
(the source tree). Run one file by hand:
    SUPERD_BIN=build/bin python3 tests/integration/test_engine.py [-k NAME] [-v]
"""

import collections
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

BIN = os.path.realpath(os.environ.get("SUPERD_BIN", "build/bin"))
SRC = os.path.realpath(os.environ.get("SUPERD_SRC",
                                      os.path.join(os.path.dirname(__file__), "..", "..")))
MARKER_VAR = "SUPERD_TEST_SANDBOX"
SCRUBBED = ("SUPERD_SOCKET", "SUPERD_CONFIG", "SUPERD_HOST", "NOTIFY_SOCKET", "WATCHDOG_USEC",
            "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID")


class Failure(Exception):
    """The product did not do what it should."""


class Skip(Exception):
    """The test cannot run here."""


def check(cond, message):
    if not cond:
        raise Failure(message)


def skip(reason):
    raise Skip(reason)


def wait_until(fn, timeout, what="condition", interval=0.02):
    """Poll fn until it returns something truthy; return it, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failure("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


def wait_output(pipe, needle, timeout, what):
    """Read a non-blocking pipe until needle (bytes) has appeared; return
    all that was read."""
    got = b""

    def seen():
        nonlocal got
        try:
            got += pipe.read() or b""
        except (BlockingIOError, TypeError):
            pass
        return needle in got
    wait_until(seen, timeout, what)
    return got


def poll_until(fn, timeout, interval=0.02):
    """Like wait_until, but returns the last value instead of failing."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def holds_for(fn, duration, interval=0.05):
    """True if fn stays truthy for the whole duration."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        if not fn():
            return False
        time.sleep(interval)
    return bool(fn())


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class UnixHTTP(http.client.HTTPConnection):
    """HTTP over a Unix socket (the control socket speaks HTTP too)."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def read_json_lines(path):
    """The JSON lines a helper has finished writing to path: a line still
    being written (no newline yet) is left for the next look."""
    text = read_text(path)
    complete = text[:text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def proc_stat(pid):
    """(state, ppid, pgid, utime+stime ticks) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12])


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st and st[1] == pid:
                out.append(int(entry))
    return out


def descendants(pid):
    found, todo = [], [pid]
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                table.setdefault(st[1], []).append(int(entry))
    while todo:
        for child in table.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def vm_rss_kib(pid):
    for line in read_text("/proc/%d/status" % pid).splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rss_bound_kib(pid, kib):
    """kib, or ten times that when pid runs under ASan, whose quarantine
    keeps freed memory resident: an RSS bound means nothing there."""
    maps = read_text("/proc/%d/maps" % pid)
    return kib * 10 if ("libasan" in maps or "libclang_rt.asan" in maps) else kib


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def program(name, command, **keys):
    """A [program:NAME] section; startsecs=0 and stopwaitsecs=2 unless given
    (None omits a key)."""
    settings = {"startsecs": 0, "stopwaitsecs": 2}
    settings.update(keys)
    lines = ["[program:%s]" % name, "command = %s" % command]
    lines += ["%s = %s" % (k, v) for k, v in settings.items() if v is not None]
    return "\n".join(lines) + "\n\n"


def section(name, **keys):
    return "\n".join(["[%s]" % name] + ["%s = %s" % kv for kv in keys.items()]) + "\n\n"


class RpcError(Exception):
    def __init__(self, error):
        self.error = error
        self.code = error.get("code")
        self.message = error.get("message", "")
        super().__init__("JSON-RPC error %s: %s" % (self.code, self.message))


class RpcClient:
    """One connection; responses matched by id, notifications queued."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.timeout = timeout
        self.buf = b""
        self.next_id = 0
        self.responses = {}
        self.notifications = collections.deque()
        self.closed = False

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_raw(json.dumps(msg).encode() + b"\n")
        return self.next_id

    def read_message(self, timeout=None):
        """The next message, or None once the daemon closed."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\n" not in self.buf:
            if self.closed:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure("no message from superd in time")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def response(self, id, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while id not in self.responses:
            self._file_next(deadline)
        return self.responses.pop(id)

    def _file_next(self, deadline):
        """Read one message and file it as a response or a notification."""
        msg = self.read_message(max(0.01, deadline - time.monotonic()))
        if msg is None:
            raise Failure("superd closed the connection")
        if "id" in msg and ("result" in msg or "error" in msg):
            self.responses[msg["id"]] = msg
        else:
            self.notifications.append(msg)

    def call_raw(self, method, params=None, timeout=None):
        return self.response(self.request(method, params), timeout)

    def call(self, method, params=None, timeout=None):
        reply = self.call_raw(method, params, timeout)
        check(reply.get("jsonrpc") == "2.0", "reply without jsonrpc 2.0: %r" % reply)
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply["result"]

    def notification(self, method=None, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            while self.notifications:
                msg = self.notifications.popleft()
                if method is None or msg.get("method") == method:
                    return msg
            self._file_next(deadline)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def expect_error(fn, code):
    try:
        result = fn()
    except RpcError as e:
        check(e.code == code, "expected error %s, got %s (%s)" % (code, e.code, e.message))
        return e
    raise Failure("expected error %s, got result %r" % (code, result))


def states_until(ev, until, timeout):
    """process.state notifications (params) on the events.subscribe'd
    client ev, collected until until(list) is true."""
    seen = []
    deadline = time.monotonic() + timeout
    while not until(seen):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("events: timed out; saw %r" % [(e["name"], e["to"]) for e in seen])
        seen.append(ev.notification("process.state", left)["params"])
    return seen


class Sandbox:
    def __init__(self, name):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="superd-%s-" % name[:30]))
        self.sock = self.path("superd.sock")
        self.conf = self.path("superd.conf")
        self.logdir = self.path("logs")
        os.makedirs(self.logdir)
        self.daemons = []
        self.helpers = []
        self.clients = []
        self._client = None
        self.daemon = None

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, rel, text, mode=None):
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if mode is not None:
            os.chmod(path, mode)
        return path

    def script(self, rel, body):
        return self.write(rel, "#!/bin/sh\n" + body, 0o755)

    def header(self, superd=None, control=None):
        s = {"pidfile": self.path("superd.pid"), "childlogdir": self.logdir}
        s.update(superd or {})
        c = {"socket": self.sock}
        c.update(control or {})
        return section("superd", **s) + section("control", **c) + section("superctl", socket=self.sock)

    def config(self, *sections, superd=None, control=None, path=None):
        text = self.header(superd, control) + "".join(sections)
        with open(path or self.conf, "w") as f:
            f.write(text)
        return path or self.conf

    def env(self, extra=None):
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env[MARKER_VAR] = self.dir
        env.update(extra or {})
        return env

    def launch(self, args, env=None, prefix=(), **popen):
        n = len(self.daemons)
        out, err = self.path("superd-%d.out" % n), self.path("superd-%d.err" % n)
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(list(prefix) + [os.path.join(BIN, "superd")] + list(args),
                                    stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                    cwd=self.dir, env=self.env(env), start_new_session=True,
                                    **popen)
        proc.out_path, proc.err_path = out, err
        self.daemons.append(proc)
        return proc

    def run_superd(self, *args, env=None, timeout=15):
        proc = self.launch(args, env=env)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("superd %s did not exit" % " ".join(args))
        return rc, read_text(proc.out_path), read_text(proc.err_path)

    def start(self, conf=None, args=(), env=None, prefix=(), **popen):
        proc = self.launch(["-c", conf or self.conf] + list(args), env=env, prefix=prefix, **popen)
        self.wait_socket(proc)
        self.daemon = proc
        return proc

    def wait_socket(self, proc=None, path=None, timeout=10):
        path = path or self.sock

        def listening():
            if proc is not None and proc.poll() is not None:
                raise Failure("superd exited (%s) before listening: %s"
                              % (proc.returncode, self.log(proc)))
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return True
            except OSError:
                return False
            finally:
                s.close()
        wait_until(listening, timeout, "superd's socket")

    def log(self, proc=None):
        proc = proc or (self.daemons[-1] if self.daemons else None)
        if proc is None:
            return ""
        return (read_text(proc.err_path) + read_text(proc.out_path))[-3000:]

    def rpc(self, timeout=10.0):
        c = RpcClient(self.sock, timeout)
        self.clients.append(c)
        return c

    def client(self):
        if self._client is None or self._client.closed:
            self._client = self.rpc()
        return self._client

    def call(self, method, params=None, timeout=None):
        return self.client().call(method, params, timeout)

    def processes(self):
        return self.call("process.list")

    def proc(self, name):
        for p in self.processes():
            if name in (p["name"], "%s:%s" % (p["group"], p["name"])):
                return p
        raise Failure("%s not in process.list" % name)

    def wait_state(self, name, states, timeout=10):
        states = {states} if isinstance(states, str) else set(states)
        seen = set()

        def reached():
            p = self.proc(name)
            seen.add(p["state"])
            return p if p["state"] in states else None
        p = wait_until(reached, timeout, "%s to reach %s (seen %s)" % (name, states, seen))
        return p, seen

    def wait_running(self, *names, timeout=10):
        return {n: self.wait_state(n, "RUNNING", timeout)[0]["pid"] for n in names}

    def ctl(self, *args, conf=True, env=None, timeout=30, input=None):
        cmd = [os.path.join(BIN, "superctl")]
        if conf:
            cmd += ["-c", conf if isinstance(conf, str) else self.conf]
        cmd += list(args)
        try:
            return subprocess.run(cmd, input=input, capture_output=True, text=True,
                                  cwd=self.dir, env=self.env(env), timeout=timeout,
                                  stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure("superctl %s hung" % " ".join(args))

    def ctl_popen(self, *args, **popen):
        proc = subprocess.Popen([os.path.join(BIN, "superctl"), "-c", self.conf] + list(args),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, cwd=self.dir, env=self.env(),
                                start_new_session=True, **popen)
        self.helpers.append(proc)
        return proc

    def cleanup(self, keep=False):
        for c in self.clients:
            c.close()
        victims = set()
        for proc in self.daemons + self.helpers:
            victims.add(proc.pid)
            victims.update(descendants(proc.pid))
        marker = ("%s=%s" % (MARKER_VAR, self.dir)).encode()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/environ" % entry, "rb") as f:
                        if marker in f.read().split(b"\0"):
                            victims.add(int(entry))
                except OSError:
                    pass
        victims.discard(os.getpid())
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for proc in self.daemons + self.helpers:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def main(namespace):
    """Run every test_* function of the calling module; exit 1 on failure."""
    args = sys.argv[1:]
    keyword = args[args.index("-k") + 1] if "-k" in args else None
    verbose = "-v" in args
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    if keyword:
        tests = [(n, f) for n, f in tests if keyword in n]
    for tool in ("superd", "superctl"):
        if not os.access(os.path.join(BIN, tool), os.X_OK):
            print("FAIL: %s not built in %s" % (tool, BIN))
            sys.exit(1)
    failed = 0
    for name, fn in tests:
        sb = Sandbox(name)
        started = time.monotonic()
        verdict = "PASS"
        reason = ""
        try:
            fn(sb)
        except Skip as e:
            verdict, reason = "SKIP", str(e)
        except Exception as e:
            verdict, reason = "FAIL", "%s: %s" % (type(e).__name__, e)
            failed += 1
            if verbose or True:
                reason += "\n" + traceback.format_exc() + "\n--- superd log ---\n" + sb.log()
        finally:
            sb.cleanup(keep=(verdict == "FAIL" and verbose))
        print("%s %s (%.1fs)%s" % (verdict, name, time.monotonic() - started,
                                    (": " + reason) if reason else ""), flush=True)
    print("%d tests, %d failed" % (len(tests), failed))
    sys.exit(1 if failed else 0)
