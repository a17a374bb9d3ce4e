"""superctl -H HOST (SPEC.md section 14) through a private sshd on 127.0.0.1:
status, restart, tail, two host aliases with prefixed output and the worst
exit code, an unreachable host, host-by-host restart stopping at a failure.

The sshd has its own host key, config and authorized key in the sandbox;
superctl is pointed at it with $SUPERD_SSH ("ssh -F SANDBOX/ssh_config",
which names the key and a known_hosts holding the sshd's host key) and runs
this build's superctl on the far side through $SUPERD_REMOTE_SUPERCTL. The
far side finds its socket through SUPERD_SOCKET, set by the sshd's SetEnv.

    SUPERD_BIN=build/bin python3 tests/integration/test_remote.py [-k NAME] [-v]
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import harness
from harness import BIN, check, program, skip, wait_until, free_port, wait_output

SSHD = "/usr/sbin/sshd"


def start_sshd(sb):
    """A private sshd for sb; returns the port. Skips when it cannot run."""
    if not os.access(SSHD, os.X_OK) or not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        skip("openssh-server / openssh-client not installed")
    # sshd refuses to start without its privilege separation directory
    if not os.path.isdir("/run/sshd"):
        if os.geteuid() != 0:
            skip("sshd needs /run/sshd, which only root can create here")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    d = sb.path("ssh")
    os.makedirs(d)
    for key in ("host_key", "id"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(d, key)],
                       check=True, stdout=subprocess.DEVNULL)
    shutil.copy(os.path.join(d, "id.pub"), os.path.join(d, "authorized_keys"))
    port = free_port()
    with open(os.path.join(d, "sshd_config"), "w") as f:
        f.write("ListenAddress 127.0.0.1\nHostKey %s/host_key\n"
                "AuthorizedKeysFile %s/authorized_keys\nStrictModes no\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                "PermitRootLogin prohibit-password\nPidFile %s/sshd.pid\n"
                "SetEnv SUPERD_SOCKET=%s\n" % (d, d, d, sb.sock))
    with open(os.path.join(d, "host_key.pub")) as f:
        hostkey = f.read().strip()
    with open(os.path.join(d, "known_hosts"), "w") as f:
        f.write("[127.0.0.1]:%d,[localhost]:%d %s\n" % (port, port, hostkey))
    with open(os.path.join(d, "ssh_config"), "w") as f:
        f.write("Host *\n  IdentityFile %s/id\n  IdentitiesOnly yes\n"
                "  UserKnownHostsFile %s/known_hosts\n  StrictHostKeyChecking yes\n"
                "  LogLevel ERROR\n" % (d, d))
    log = open(os.path.join(d, "sshd.log"), "wb")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", os.path.join(d, "sshd_config"),
                             "-p", str(port)], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log, env=sb.env(), start_new_session=True)
    sb.helpers.append(proc)

    def up():
        if proc.poll() is not None:
            skip("sshd exited: %s" % open(os.path.join(d, "sshd.log")).read()[-300:])
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False
    wait_until(up, 10, "sshd listening")
    sb.ssh_env = {"SUPERD_SSH": "ssh -F %s/ssh_config" % d,
                  "SUPERD_REMOTE_SUPERCTL": os.path.join(BIN, "superctl")}
    # one plain login first: an sshd that runs but refuses us is a skip too
    r = subprocess.run(["ssh", "-F", os.path.join(d, "ssh_config"), "-o", "BatchMode=yes",
                        "-p", str(port), "127.0.0.1", "true"], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        skip("cannot log in to the private sshd: %s" % r.stderr.strip()[-300:])
    return port


def setup(sb, *extra):
    sb.config(program("web", "/bin/sh -c 'echo hello-remote; exec sleep 1000'", startsecs="0"),
              program("manual", "/bin/sleep 1002", autostart="false"),
              *extra)
    sb.start()
    pids = sb.wait_running("web")
    return start_sshd(sb), pids


def rctl(sb, *args, env=None, timeout=60):
    e = dict(sb.ssh_env)
    e.update(env or {})
    return sb.ctl(*args, conf=False, env=e, timeout=timeout)


# --- one host -------------------------------------------------------------

def test_remote_status(sb):
    port, pids = setup(sb)
    host = "127.0.0.1:%d" % port
    r = rctl(sb, "-H", host, "status")
    check(r.returncode == 3, "status over ssh exit %s, expected 3: %r" % (r.returncode, r.stderr))
    check(re.search(r"^web\s+RUNNING\s+pid %d, uptime" % pids["web"], r.stdout, re.M),
          "no unprefixed RUNNING line for web: %r" % r.stdout)
    check(re.search(r"^manual\s+STOPPED", r.stdout, re.M), "no manual line: %r" % r.stdout)
    r = rctl(sb, "-H", host, "status", "web")
    check(r.returncode == 0, "status web over ssh exit %s" % r.returncode)
    r = rctl(sb, "-H", host, "--json", "pid", "web")
    check(r.returncode == 0 and r.stdout.strip().startswith("["), "--json over ssh: %r" % r.stdout)
    r = rctl(sb, "-H", host, "status", "nosuch")
    check(r.returncode == 4, "no such process over ssh exit %s" % r.returncode)
    # $SUPERD_HOST instead of -H; -s names a local socket and is not sent
    r = rctl(sb, "-s", sb.path("nothing.sock"), "status", "web",
             env={"SUPERD_HOST": host})
    check(r.returncode == 0 and "RUNNING" in r.stdout, "$SUPERD_HOST: %s %r"
          % (r.returncode, r.stdout + r.stderr))


def test_remote_restart(sb):
    port, pids = setup(sb)
    r = rctl(sb, "-H", "127.0.0.1:%d" % port, "restart", "web")
    check(r.returncode == 0 and r.stdout == "web: stopped\nweb: started\n",
          "restart over ssh: %s %r" % (r.returncode, r.stdout + r.stderr))
    check(sb.wait_running("web")["web"] != pids["web"], "web was not restarted")


def dial_processes(sb):
    """The far side's superctl --dial processes serving this sandbox."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
            if b"--dial" not in argv:
                continue
            with open("/proc/%s/environ" % entry, "rb") as f:
                if ("SUPERD_SOCKET=%s" % sb.sock).encode() in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def test_remote_tail(sb):
    port, _ = setup(sb)
    host = "127.0.0.1:%d" % port
    r = rctl(sb, "-H", host, "tail", "web")
    check(r.returncode == 0 and "hello-remote" in r.stdout, "tail over ssh: %s %r"
          % (r.returncode, r.stdout + r.stderr))
    r = rctl(sb, "-H", host, "maintail")
    check(r.returncode == 0 and "web" in r.stdout, "maintail over ssh: %s %r"
          % (r.returncode, r.stdout + r.stderr))
    proc = subprocess.Popen([os.path.join(BIN, "superctl"), "-H", host, "tail", "-f", "web"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=sb.env(sb.ssh_env),
                            start_new_session=True)
    sb.helpers.append(proc)
    os.set_blocking(proc.stdout.fileno(), False)
    wait_output(proc.stdout, b"hello-remote", 20, "tail -f over ssh printing the log")
    wait_until(lambda: dial_processes(sb), 10, "the far side's --dial")
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(20)
    check(rc == 0, "tail -f over ssh after ^C exit %s: %r" % (rc, proc.stderr.read()))
    wait_until(lambda: not dial_processes(sb), 10, "the far side's --dial to end")


# --- several hosts ----------------------------------------------------------

def test_two_hosts_prefixed_worst_exit(sb):
    port, pids = setup(sb)
    a, b = "127.0.0.1:%d" % port, "localhost:%d" % port
    r = rctl(sb, "-H", "%s,%s" % (a, b), "status")
    check(r.returncode == 3, "worst exit of two hosts %s, expected 3" % r.returncode)
    lines = r.stdout.splitlines()
    check(len(lines) == 4 and all(l.startswith(a + ": ") or l.startswith(b + ": ") for l in lines),
          "lines not prefixed HOST: %r" % r.stdout)
    for h in (a, b):
        check(re.search(r"^%s: web\s+RUNNING\s+pid %d" % (re.escape(h), pids["web"]), r.stdout,
                        re.M), "no web line for %s: %r" % (h, r.stdout))
    r = rctl(sb, "-H", a, "-H", b, "status", "web")
    check(r.returncode == 0 and r.stdout.count("RUNNING") == 2, "status web on two hosts: %s %r"
          % (r.returncode, r.stdout))
    r = rctl(sb, "-H", "%s,%s" % (a, b), "fg", "web")
    check(r.returncode == 2, "fg on two hosts is not a usage error: %s" % r.returncode)


def test_unreachable_host(sb):
    port, _ = setup(sb)
    dead = "127.0.0.1:%d" % free_port()
    good = "127.0.0.1:%d" % port
    r = rctl(sb, "-H", dead, "-H", good, "status", "web")
    check(r.returncode == 7, "unreachable host exit %s, expected 7" % r.returncode)
    check(re.search(r"^%s: .*cannot reach" % re.escape(dead), r.stderr, re.M),
          "no error naming %s: %r" % (dead, r.stderr))
    check(re.search(r"^%s: web\s+RUNNING" % re.escape(good), r.stdout, re.M),
          "the reachable host was not served: %r" % r.stdout)
    r = rctl(sb, "-H", dead, "status")
    check(r.returncode == 7 and dead in r.stderr, "one unreachable host: %s %r"
          % (r.returncode, r.stderr))
    # ssh works but no superd answers there: the far side says why, exit 7
    r = rctl(sb, "-H", good, "status", env={"SUPERD_REMOTE_SUPERCTL": "%s -s %s" % (
        os.path.join(BIN, "superctl"), sb.path("nothing.sock"))})
    check(r.returncode == 7 and "cannot connect to %s" % sb.path("nothing.sock") in r.stderr,
          "no superd on the far side: %s %r" % (r.returncode, r.stderr))
    for bad in ("-oProxyCommand=touch", "host:0", "host:x", "user@", "a b"):
        r = rctl(sb, "-H", bad, "status")
        check(r.returncode == 2 and "bad host" in r.stderr, "-H %r: %s %r"
              % (bad, r.returncode, r.stderr))


def test_restart_host_by_host_stops_at_failure(sb):
    port, _ = setup(sb, program("broken", "/nonexistent/x", autostart="false", startretries="0"))
    a, b = "127.0.0.1:%d" % port, "localhost:%d" % port
    r = rctl(sb, "-H", "%s,%s" % (a, b), "restart", "broken")
    check(r.returncode == 7, "restart of a failing program on two hosts exit %s" % r.returncode)
    check(a + ": broken: ERROR" in r.stdout, "first host's failure not shown: %r" % r.stdout)
    check(b + ":" not in r.stdout and ("not done on: " + b) in r.stderr,
          "went on to the second host: %r %r" % (r.stdout, r.stderr))
    r = rctl(sb, "-H", "%s,%s" % (a, b), "restart", "web")
    check(r.returncode == 0 and r.stdout.count("web: started") == 2,
          "restart on two hosts: %s %r" % (r.returncode, r.stdout + r.stderr))
    check(r.stdout.index(a + ":") < r.stdout.index(b + ":"), "not host by host: %r" % r.stdout)
    r = rctl(sb, "-H", "%s,%s" % (a, b), "reload", "web")
    check(r.returncode == 0 and r.stdout == "%s: web: reloaded\n%s: web: reloaded\n" % (a, b),
          "reload on two hosts: %s %r" % (r.returncode, r.stdout + r.stderr))
    r = rctl(sb, "-H", "%s,%s" % (a, b), "reload", "broken")
    check(r.returncode == 7 and b + ":" not in r.stdout, "reload went on past a failure: %r"
          % r.stdout)


if __name__ == "__main__":
    harness.main(globals())
