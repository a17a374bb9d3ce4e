"""A canned JSON-RPC server on a Unix socket, to test superctl's rendering,
exit codes, timeouts and streams without a real superd.

    fake = FakeDaemon(dir)
    fake.on("process.list", result=[...])
    r = ctl(["-s", fake.path, "status"])
    fake.requests  # every request received, parsed

A handler is a result, an error, or a function(params) returning Reply.
"""

import fcntl
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
import traceback

BIN = os.path.realpath(os.environ.get("SUPERD_BIN", "build/bin"))
SUPERCTL = os.path.join(BIN, "superctl")
SCRUBBED = ("SUPERD_SOCKET", "SUPERD_CONFIG", "SUPERD_HOST", "NO_COLOR")

HANG = object()        # never answer


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


class Reply:
    """A result or error, optionally followed by notifications and a close."""

    def __init__(self, result=None, error=None, then=(), close=False, delay=0,
                 raw=None):
        self.result, self.error = result, error
        self.then, self.close, self.delay, self.raw = list(then), close, delay, raw


def notification(method, params):
    return {"jsonrpc": "2.0", "method": method, "params": params}


def proc(name, state="RUNNING", group=None, pid=None, uptime=190, spawnerr="",
         start_time=None, stop_time=0, exitstatus=0):
    now = int(time.time())
    running = state in ("RUNNING", "STARTING", "STOPPING")
    if pid is None:
        pid = 4242 if running else 0
    if start_time is None:
        start_time = now - uptime if (running or stop_time) else 0
    return {"name": name, "group": group or name, "state": state, "pid": pid,
            "start_time": start_time, "stop_time": stop_time,
            "uptime_s": uptime if state == "RUNNING" else 0,
            "exitstatus": exitstatus, "spawnerr": spawnerr, "description": "",
            "stdout_logfile": "/var/log/superd/%s.out.log" % name,
            "stderr_logfile": "/var/log/superd/%s.err.log" % name}


def item(name, ok=True, code=None, message=""):
    it = {"name": name, "ok": ok}
    if not ok:
        it["error"] = {"code": code, "message": message}
    return it


class FakeDaemon:
    def __init__(self, directory):
        self.path = os.path.join(directory, "fake.sock")
        self.handlers = {"daemon.version": Reply({"version": "0.1.0", "api": 1})}
        self.requests = []
        self.conns = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(64)
        self.stopped = False
        self.accepter = threading.Thread(target=self._accept, daemon=True)
        self.accepter.start()

    def on(self, method, result=None, error=None, fn=None, **kw):
        if fn is not None:
            self.handlers[method] = fn
        else:
            self.handlers[method] = Reply(result, error, **kw)

    def methods(self):
        with self.lock:
            return [r.get("method") for r in self.requests]

    def last(self, method):
        with self.lock:
            for r in reversed(self.requests):
                if r.get("method") == method:
                    return r
        raise Failure("no %s request received (got %s)" % (method, self.methods()))

    def close(self):
        self.stopped = True
        # shutdown() wakes the thread blocked in accept(); a bare close()
        # would leave it blocked on the fd number, which the next test's
        # listening socket then reuses: that test's connections were
        # served by this fake's handlers.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.accepter.join(5)
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _send(self, conn, msg):
        conn.sendall((json.dumps(msg) + "\n").encode())

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    msg = json.loads(line)
                    with self.lock:
                        self.requests.append(msg)
                    threading.Thread(target=self._answer, args=(conn, msg),
                                     daemon=True).start()
        except OSError:
            return

    def _answer(self, conn, msg):
        h = self.handlers.get(msg.get("method"))
        if h is None:
            reply = Reply(error={"code": -32601, "message": "method not found"})
        elif callable(h):
            reply = h(msg.get("params"))
        else:
            reply = h
        if reply is HANG:
            return
        try:
            if reply.delay:
                time.sleep(reply.delay)
            if reply.raw is not None:
                conn.sendall(reply.raw)
            else:
                out = {"jsonrpc": "2.0", "id": msg.get("id")}
                if reply.error is not None:
                    out["error"] = reply.error
                else:
                    out["result"] = reply.result if reply.result is not None else {}
                self._send(conn, out)
            for n in reply.then:
                if isinstance(n, (int, float)):
                    time.sleep(n)
                else:
                    self._send(conn, n)
            if reply.close:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
        except OSError:
            pass


def env(extra=None):
    e = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    e["TERM"] = "xterm"
    e.update(extra or {})
    return e


def ctl(args, input=None, timeout=30, extra_env=None, cwd=None):
    """Run superctl; CompletedProcess with text output."""
    try:
        return subprocess.run([SUPERCTL] + list(args), input=input, capture_output=True,
                              text=True, timeout=timeout, env=env(extra_env), cwd=cwd,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Failure("superctl %s hung" % " ".join(args))


class PtyRun:
    """superctl on a pseudo-terminal: stdin, stdout and stderr are the pty."""

    def __init__(self, args, extra_env=None):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([SUPERCTL] + list(args), stdin=slave, stdout=slave,
                                     stderr=slave, env=env(extra_env), close_fds=True,
                                     start_new_session=True, preexec_fn=self._ctty)
        os.close(slave)
        self.out = b""

    @staticmethod
    def _ctty():
        # the pty becomes the controlling terminal, so that ^C is SIGINT
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    def read_until(self, what, timeout=10):
        what = what.encode() if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        while what not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("no %r on the pty; got %r" % (what, self.out[-500:]))
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise Failure("pty closed before %r; got %r" % (what, self.out[-500:]))
                self.out += data
        return self.out

    def drain(self, timeout=10):
        """Everything until the program exits; returns (rc, output)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.proc.kill()
                raise Failure("superctl on a pty did not exit; got %r" % self.out[-500:])
            r, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    data = b""
                if data:
                    self.out += data
                    continue
            if self.proc.poll() is not None and not r:
                break
            if r and not data:
                break
        rc = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        os.close(self.master)
        return rc, self.out

    def write(self, text):
        os.write(self.master, text.encode())


def main(namespace):
    """Run test_*(fake, tmpdir) functions; exit 1 on failure."""
    args = sys.argv[1:]
    keyword = args[args.index("-k") + 1] if "-k" in args else None
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    if keyword:
        tests = [(n, f) for n, f in tests if keyword in n]
    if not os.access(SUPERCTL, os.X_OK):
        print("FAIL: superctl not built in %s" % BIN)
        sys.exit(1)
    failed = 0
    for name, fn in tests:
        tmp = os.path.realpath(tempfile.mkdtemp(prefix="superctl-%s-" % name[:30]))
        fake = FakeDaemon(tmp)
        started = time.monotonic()
        verdict, reason = "PASS", ""
        try:
            fn(fake, tmp)
        except Exception as e:
            verdict, reason = "FAIL", "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
            failed += 1
        finally:
            fake.close()
            shutil.rmtree(tmp, ignore_errors=True)
        print("%s %s (%.1fs)%s" % (verdict, name, time.monotonic() - started,
                                    (": " + reason) if reason else ""), flush=True)
    print("%d tests, %d failed" % (len(tests), failed))
    sys.exit(1 if failed else 0)
