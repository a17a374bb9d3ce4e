"""Looking instead of reading (SPEC.md section 12, issue 13): /metrics,
/healthz and the status page, on the control socket and on
[inet_http_server].

- /metrics passes `promtool check metrics` (when Debian's prometheus is
  installed), its values agree with /proc and with what happened (a kill
  raises the restart counter; resident memory is the tree's);
- /healthz answers 200 when every autostart program is RUNNING and 503
  naming the ones that are not; on [inet_http_server] with a password it
  needs none, while /metrics does;
- the page, rendered by headless Chromium: a screenshot is kept as an
  artifact (tests/artifacts/status-page.png under the build dir, or the
  sandbox), the DOM shows every process and its state; a POST as the page
  sends it (its token) stops a program, one without the token gets 403
  and changes nothing; a read-only peer sees no buttons and gets 403.
"""

import base64
import http.client
import os
import re
import shutil
import socket
import subprocess
import urllib.parse

import harness
from harness import check, skip, wait_until, free_port, UnixHTTP

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROMTOOL = shutil.which("promtool")


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read().decode("utf-8", "replace")
    status, hdrs = r.status, dict(r.getheaders())
    conn.close()
    return status, hdrs, data


def start(sb, inet=None, **extra):
    progs = harness.program("web", "/bin/sh -c 'echo hello from web; exec sleep 1000'") + \
        harness.program("worker", "/bin/sh -c 'echo working; sleep 1000 & sleep 1000; wait'") + \
        harness.program("manual", "/bin/sleep 1000", autostart="false")
    sections = [progs]
    if inet:
        sections.insert(0, harness.section("inet_http_server", **inet))
    sb.config(*sections, **extra)
    sb.start()
    sb.wait_running("web", "worker")


def metrics(sb):
    status, hdrs, body = request(UnixHTTP(sb.sock), "GET", "/metrics")
    check(status == 200, "GET /metrics -> %d %s" % (status, body[:200]))
    check(hdrs.get("Content-Type", "").startswith("text/plain"),
          "Content-Type %r" % hdrs.get("Content-Type"))
    return body


def sample(body, family, **labels):
    for line in body.splitlines():
        if not line.startswith(family + "{") and line.split(" ")[0] != family:
            continue
        m = re.match(r'([a-z_]+)(\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    raise harness.Failure("no sample %s%r in:\n%s" % (family, labels, body[:2000]))


def test_metrics_are_true(sb):
    start(sb)
    body = metrics(sb)
    if PROMTOOL:
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                           text=True)
        check(r.returncode == 0, "promtool check metrics: %s%s" % (r.stdout, r.stderr))
    check(sample(body, "superd_up") == 1, "superd_up")
    check(sample(body, "superd_process_up", name="web", group="web") == 1, "web up")
    check(sample(body, "superd_process_state", name="manual", state="STOPPED") == 1,
          "manual STOPPED")
    check(sample(body, "superd_process_state", name="manual", state="RUNNING") == 0,
          "manual not RUNNING")
    # RUNNING can come before superd read the first line from the pipe.
    wait_until(lambda: sample(metrics(sb), "superd_log_bytes_total", name="web",
                              stream="stdout") >= len("hello from web\n"), 10,
               "web's log bytes to count its line")
    # Resident memory of worker is its tree: the shell and its two sleep
    # children, once both exist and have exec'd (before that, the scrape
    # and /proc can see different trees).
    worker = sb.proc("worker")["pid"]
    wait_until(lambda: len(harness.descendants(worker)) == 2 and
               all(harness.read_text("/proc/%d/comm" % p).strip() == "sleep"
                   for p in harness.descendants(worker)), 10, "worker's two sleeps")
    tree = [worker] + harness.descendants(worker)
    rss = sum(harness.vm_rss_kib(p) for p in tree) * 1024
    got = sample(metrics(sb), "superd_process_resident_memory_bytes", name="worker")
    check(0.5 * rss <= got <= 2 * rss, "worker RSS %d, /proc says %d over %r" % (got, rss, tree))
    before = sample(body, "superd_process_restarts_total", name="web")
    old = sb.proc("web")["pid"]
    os.kill(old, 9)
    wait_until(lambda: sb.proc("web")["pid"] not in (0, old) and
               sb.proc("web")["state"] == "RUNNING", 10, "web to be restarted")
    after = sample(metrics(sb), "superd_process_restarts_total", name="web")
    check(after == before + 1, "restarts %s -> %s after a kill" % (before, after))
    print("  /metrics: %d lines, promtool %s" % (len(body.splitlines()),
                                                 "clean" if PROMTOOL else "not installed"))


def test_metrics_series_unique_across_groups(sb):
    # Two groups may each hold a process named "job": every family carries
    # name and group, so no series repeats (promtool rejects duplicates).
    progs = harness.program("a", "/bin/sleep 1000", process_name="job") + \
        harness.program("b", "/bin/sleep 1000", process_name="job") + \
        harness.section("group:one", programs="a") + harness.section("group:two", programs="b")
    sb.config(progs)
    sb.start()
    sb.wait_running("one:job", "two:job")
    body = metrics(sb)
    series = [l.rsplit(" ", 1)[0] for l in body.splitlines() if l and not l.startswith("#")]
    dups = sorted(set(x for x in series if series.count(x) > 1))
    check(not dups, "repeated series: %r" % dups[:5])
    check(sample(body, "superd_log_bytes_total", name="job", group="two", stream="stdout") == 0,
          "two:job's log bytes")
    if PROMTOOL:
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                           text=True)
        check(r.returncode == 0, "promtool check metrics: %s%s" % (r.stdout, r.stderr))


def test_healthz(sb):
    start(sb)
    status, _, body = request(UnixHTTP(sb.sock), "GET", "/healthz")
    check(status == 200, "healthz with all up: %d %r" % (status, body))
    check(sb.ctl("stop", "worker").returncode == 0, "stop worker")
    status, _, body = request(UnixHTTP(sb.sock), "GET", "/healthz")
    check(status == 503 and "worker" in body and "web" not in body,
          "healthz with worker stopped: %d %r" % (status, body))


def test_inet_password_spares_healthz_only(sb):
    port = free_port()
    start(sb, inet={"port": "127.0.0.1:%d" % port, "username": "ops", "password": "s3cret"})
    conn = lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    status, _, _ = request(conn(), "GET", "/healthz")
    check(status == 200, "healthz without a password: %d" % status)
    status, _, _ = request(conn(), "GET", "/metrics")
    check(status == 401, "metrics without a password: %d" % status)
    status, _, _ = request(conn(), "GET", "/", headers={
        "Authorization": "Basic " + base64.b64encode(b"ops:wrong").decode()})
    check(status == 401, "page with a wrong password: %d" % status)
    status, _, body = request(conn(), "GET", "/metrics", headers={
        "Authorization": "Basic " + base64.b64encode(b"ops:s3cret").decode()})
    check(status == 200 and "superd_up 1" in body, "metrics with the password: %d" % status)


def artifact_dir(sb):
    build = os.environ.get("SUPERD_BUILD")
    d = os.path.join(build, "artifacts") if build else sb.dir
    os.makedirs(d, exist_ok=True)
    return d


def chromium(args, url, timeout=60):
    profile = __import__("tempfile").mkdtemp(prefix="superd-chromium-")
    try:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-quic", "--no-first-run",
                               "--disable-background-networking",
                               "--disable-component-update", "--disable-sync",
                               "--user-data-dir=" + profile] + args + [url],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_page_in_a_browser(sb):
    if not CHROMIUM:
        skip("chromium is not installed")
    port = free_port()
    start(sb, inet={"port": "127.0.0.1:%d" % port})
    url = "http://127.0.0.1:%d/" % port
    shot = os.path.join(artifact_dir(sb), "status-page.png")
    if os.path.exists(shot):
        os.unlink(shot)
    r = chromium(["--screenshot=" + shot, "--window-size=1200,800",
                  "--hide-scrollbars"], url)
    check(os.path.exists(shot) and os.path.getsize(shot) > 5000,
          "no screenshot: %s" % r.stderr[-500:])
    phone = os.path.join(artifact_dir(sb), "status-page-phone.png")
    chromium(["--screenshot=" + phone, "--window-size=390,844"], url)
    r = chromium(["--dump-dom"], url)
    dom = r.stdout
    for name in ("web", "worker", "manual"):
        check(">%s<" % name in dom, "%s not on the page" % name)
    check("RUNNING" in dom and "STOPPED" in dom, "states not on the page")
    check("<script" not in dom.lower(), "the page has a script")
    check(not re.search(r'(src|href)="https?://', dom), "the page loads something from outside")
    m = re.search(r'name="token" value="([0-9a-f]+)"', dom)
    check(m is not None, "no token in the page's forms")
    token = m.group(1)
    # A POST as the page's form sends it.
    form = urllib.parse.urlencode({"token": token, "name": "worker", "action": "stop"})
    status, hdrs, _ = request(http.client.HTTPConnection("127.0.0.1", port, timeout=30), "POST",
                              "/action", body=form,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(status == 303 and hdrs.get("Location") == "/", "POST with the token: %d" % status)
    sb.wait_state("worker", "STOPPED", timeout=10)
    # Without the right token: 403 and nothing changes.
    form = urllib.parse.urlencode({"token": "0" * 32, "name": "web", "action": "stop"})
    status, _, _ = request(http.client.HTTPConnection("127.0.0.1", port, timeout=30), "POST",
                           "/action", body=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(status == 403, "POST with a wrong token: %d" % status)
    check(sb.proc("web")["state"] == "RUNNING", "a wrong token changed web")

    def post(fields):
        return request(http.client.HTTPConnection("127.0.0.1", port, timeout=30), "POST",
                       "/action", body=urllib.parse.urlencode(fields),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})[0]
    # Restart goes through process.restart: a new pid, RUNNING again.
    old = sb.proc("web")["pid"]
    check(post({"token": token, "name": "web", "action": "restart"}) == 303, "restart POST")
    wait_until(lambda: sb.proc("web")["pid"] not in (0, old) and
               sb.proc("web")["state"] == "RUNNING", 15, "web restarted by the page")
    check(post({"token": token, "name": "nosuch", "action": "stop"}) == 404, "unknown name")
    check(post({"token": token, "name": "web", "action": "explode"}) == 400, "bad action")
    check(post({"token": token, "name": "manual", "action": "start"}) == 303, "start POST")
    sb.wait_state("manual", "RUNNING", timeout=10)
    print("  screenshots: %s, %s" % (shot, phone))


def test_scrape_loop_that_never_reads(sb):
    # Thousands of pipelined scrapes whose answers are never read: superd
    # stops taking requests once a bounded amount waits, keeps serving
    # others, and drops the client at the write timeout.
    start(sb)
    rss0 = harness.vm_rss_kib(sb.daemon.pid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sb.sock)
    s.setblocking(False)
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    sent = 0
    for _ in range(20000):
        try:
            sent += s.send(req * 10)
        except BlockingIOError:
            break
    status, _, _ = request(UnixHTTP(sb.sock), "GET", "/healthz")
    check(status == 200, "another client during the flood: %d" % status)
    grown = harness.vm_rss_kib(sb.daemon.pid) - rss0
    check(grown < harness.rss_bound_kib(sb.daemon.pid, 16 * 1024),
          "superd grew by %d KiB for %d bytes of unread scrapes" % (grown, sent))
    s.close()
    print("  %d bytes of requests sent, superd grew by %d KiB" % (sent, grown))


def test_readonly_peer_sees_no_buttons(sb):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        skip("needs root and setpriv to act as another user")
    start(sb, control={"readonly_group": "nogroup"})
    os.chmod(sb.dir, 0o755)
    client = ("import http.client,socket,sys\n"
              "c=http.client.HTTPConnection('x')\n"
              "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);c.sock=s\n"
              "c.request(sys.argv[2],sys.argv[3],body=sys.argv[4] or None,headers={'Content-Type':"
              "'application/x-www-form-urlencoded'})\n"
              "r=c.getresponse();print(r.status);print(r.read().decode())\n")
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--groups=65534", "python3", "-c",
                 client, sb.sock]
    r = subprocess.run(as_nobody + ["GET", "/", ""], capture_output=True, text=True, timeout=30)
    check(r.stdout.startswith("200"), "read-only GET /: %s %s" % (r.stdout[:100], r.stderr))
    check("<button" not in r.stdout and ">web<" in r.stdout, "read-only peer sees buttons")
    # Even with the daemon's real token (as a control peer sees it).
    _, _, page = request(UnixHTTP(sb.sock), "GET", "/")
    m = re.search(r'name="token" value="([0-9a-f]+)"', page)
    check(m is not None, "no token on the control peer's page")
    form = urllib.parse.urlencode({"action": "stop", "name": "web", "token": m.group(1)})
    r = subprocess.run(as_nobody + ["POST", "/action", form],
                       capture_output=True, text=True, timeout=30)
    check(r.stdout.startswith("403"), "read-only POST: %s" % r.stdout[:100])
    check(sb.proc("web")["state"] == "RUNNING", "a read-only POST changed web")


if __name__ == "__main__":
    harness.main(globals())
