"""superd -t: validate a config, as SPEC.md sections 2 and 3 promise.

Exit 0 and one line per process ("NAME COMMAND") on stdout; on any error
exit 1 with "FILE:LINE: message" lines on stderr; warnings are
"FILE:LINE: warning: message" and --strict turns them into errors.
"""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

BIN = os.environ.get("SUPERD_BIN", "build/bin")
SUPERD = os.path.join(BIN, "superd")


def write(path, body):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body))
    return path


def check(conf, *extra, env=None):
    args = [SUPERD, "-t"] + list(extra)
    if conf is not None:
        args += ["-c", conf]
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=30, env=env)


class ConfigCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="superd-t-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def conf(self, body, name="superd.conf"):
        return write(os.path.join(self.dir, name), body)

    def test_valid_prints_one_line_per_process(self):
        path = self.conf("""\
            [program:web]
            command=/usr/bin/web --port 80%(process_num)02d
            process_name=%(program_name)s_%(process_num)02d
            numprocs=2
            [program:worker]
            command=/usr/bin/worker -q
            """)
        r = check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3, r.stdout)
        for name, cmd in (("web_00", "/usr/bin/web --port 8000"),
                          ("web_01", "/usr/bin/web --port 8001"),
                          ("worker", "/usr/bin/worker -q")):
            self.assertTrue(any(name in l and cmd in l for l in lines),
                            "%s / %s not in %r" % (name, cmd, lines))

    def test_errors_name_file_and_line(self):
        path = self.conf("""\
            [program:a]
            autostart=maybe

            [program:b]
            command=/bin/b "open
            [program:c]
            command=/bin/c
            numprocs=2
            """)
        r = check(path)
        self.assertEqual(r.returncode, 1)
        for line in (1, 2, 5, 8):  # 8: numprocs=2 without %(process_num)
            self.assertIn("%s:%d: " % (path, line), r.stderr)
        self.assertIn("missing 'command'", r.stderr)
        self.assertIn("autostart", r.stderr)
        self.assertIn("maybe", r.stderr)

    def test_error_in_drop_in_names_the_drop_in(self):
        drop = write(os.path.join(self.dir, "conf.d", "x.ini"),
                     "[program:x]\ncommand=x\nstartsecs=soon\n")
        path = self.conf("[include]\nfiles = conf.d/*.ini\n")
        r = check(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("x.ini:3: ", r.stderr)
        self.assertTrue(drop.endswith("x.ini"))

    def test_duplicate_across_files_names_both(self):
        write(os.path.join(self.dir, "conf.d", "a.ini"),
              "\n[program:a]\ncommand=a\n")
        path = self.conf("[program:a]\ncommand=a\n"
                         "[include]\nfiles = conf.d/*.ini\n")
        r = check(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("a.ini:2: ", r.stderr)
        self.assertIn("superd.conf:1", r.stderr)

    def test_warnings_and_strict(self):
        path = self.conf("""\
            [supervisord]
            nodaemon=true
            [inet_http_server]
            port=127.0.0.1:9001
            [program:a]
            command=/bin/a
            autorestrat=true
            """)
        r = check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("%s:7: warning: " % path, r.stderr)
        self.assertIn("did you mean 'autorestart'", r.stderr)
        # nodaemon and a well-formed [inet_http_server] are silent
        self.assertNotIn("%s:2: warning: " % path, r.stderr)
        self.assertNotIn("%s:3: warning: " % path, r.stderr)
        r = check(path, "--strict")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:7: " % path, r.stderr)

    def test_config_from_environment(self):
        path = self.conf("[program:envcfg]\ncommand=/bin/true\n")
        env = dict(os.environ, SUPERD_CONFIG=path)
        r = check(None, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("envcfg", r.stdout)

    def test_supervisord_documentation_config(self):
        # supervisord 4.x's documented sample, paths changed.
        path = self.conf("""\
            [unix_http_server]
            file=%(here)s/supervisor.sock   ; the path to the socket file
            chmod=0700                 ; socket file mode (default 0700)

            [supervisord]
            logfile=%(here)s/supervisord.log ; main log file
            logfile_maxbytes=50MB        ; max main logfile bytes b4 rotation
            logfile_backups=10           ; # of main logfile backups
            loglevel=info                ; log level; default info
            pidfile=%(here)s/supervisord.pid ; supervisord pidfile
            nodaemon=false               ; start in foreground if true
            minfds=1024                  ; min. avail startup file descriptors
            minprocs=200                 ; min. avail process descriptors

            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

            [supervisorctl]
            serverurl=unix://%(here)s/supervisor.sock ; use a unix:// URL

            [program:cat]
            command=/bin/cat
            process_name=%(program_name)s
            numprocs=1
            directory=/tmp
            umask=022
            priority=999
            autostart=true
            startsecs=1
            startretries=3
            autorestart=unexpected
            exitcodes=0
            stopsignal=TERM
            stopwaitsecs=10
            stopasgroup=false
            killasgroup=false
            redirect_stderr=false
            stdout_logfile=/dev/stdout
            stdout_logfile_maxbytes=0
            stderr_logfile=/dev/stderr
            stderr_logfile_maxbytes=0
            environment=A="1",B="2"
            """)
        r = check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("/bin/cat", r.stdout)

    def test_unreadable_main_file(self):
        r = check(os.path.join(self.dir, "missing.conf"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.conf", r.stderr)

    # ---- issue 9 and SPEC part two ----

    def test_fifo_is_refused_at_once(self):
        """A FIFO as an include or as -c FILE: an error, never a block."""
        fifo = os.path.join(self.dir, "conf.d", "x.ini")
        os.makedirs(os.path.dirname(fifo))
        os.mkfifo(fifo)
        path = self.conf("""\
            [program:a]
            command=/bin/a
            [include]
            files=conf.d/*.ini
            """)
        r = subprocess.run([SUPERD, "-t", "-c", path], capture_output=True,
                           text=True, timeout=5)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:4: cannot read include %s: not a regular file"
                      % (path, fifo), r.stderr)
        r = subprocess.run([SUPERD, "-t", "-c", fifo], capture_output=True,
                           text=True, timeout=5)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s: not a regular file" % fifo, r.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_root_refuses_writable_files(self):
        inc = self.conf("[program:b]\ncommand=/bin/b\n", "conf.d/b.ini")
        path = self.conf("""\
            [include]
            files=conf.d/*.ini
            """)
        self.assertEqual(check(path).returncode, 0)
        os.chmod(inc, 0o664)
        r = check(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:2: refusing %s: writable by group or others"
                      % (path, inc), r.stderr)
        self.assertIn("chmod go-w %s" % inc, r.stderr)
        os.chmod(inc, 0o644)
        os.chown(inc, 65534, 65534)
        r = check(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("owned by uid 65534", r.stderr)
        os.chown(inc, 0, 0)
        os.chmod(os.path.dirname(inc), 0o777)
        r = check(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("its directory %s" % os.path.dirname(inc), r.stderr)

    def test_missing_include_is_a_warning(self):
        path = self.conf("""\
            [program:a]
            command=/bin/a
            [include]
            files=/nonexistent/superd/x.conf
            """)
        r = check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("%s:4: warning: No file matches via include" % path,
                      r.stderr)

    def test_supervisord_noise_is_silent(self):
        user = "root" if os.geteuid() == 0 else None
        path = self.conf("""\
            [supervisord]
            nodaemon=true
            %s
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
            [supervisorctl]
            serverurl=unix:///tmp/x.sock
            username=user
            password=123
            prompt=mysupervisor
            [program:a]
            command=/bin/a
            stdout_logfile=/dev/stdout
            stdout_logfile_maxbytes=0
            stderr_logfile=/dev/stderr
            stderr_logfile_maxbytes=0
            [program:b]
            command=/bin/b
            stderr_logfile_maxbytes=1500 KB
            """ % ("user=root" if user else ""))
        r = check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("nodaemon", r.stderr)
        self.assertNotIn("rpcinterface", r.stderr)
        self.assertNotIn("prompt", r.stderr)
        self.assertNotIn("'user'", r.stderr)
        self.assertEqual(r.stderr, "")

    def test_command_error_is_reported_once(self):
        path = self.conf("""\
            [program:a]
            command=/bin/%(ENV_SUPERD_SURELY_UNSET)s
            """)
        env = dict(os.environ)
        env.pop("SUPERD_SURELY_UNSET", None)
        r = check(path, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertNotIn("missing 'command'", r.stderr)

    def test_multiline_command_prints_on_one_line(self):
        path = self.conf("""\
            [program:a]
            command=/bin/sh -c "echo one;
              echo two"
            """)
        r = check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         ['a /bin/sh -c "echo one;\\necho two"'])

    def test_messages_in_file_and_line_order(self):
        path = self.conf("""\
            [program:a]
            command=/bin/a
            frob=1
            [nonsense]
            [supervisord]
            frob2=1
            """)
        r = check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [int(l.split(":")[1]) for l in r.stderr.splitlines()]
        self.assertEqual(lines, sorted(lines))
        self.assertEqual(len(lines), 3, r.stderr)

    def test_part_two_sections(self):
        path = self.conf("""\
            [inet_http_server]
            port=127.0.0.1:9001
            username=u
            password=p
            [program:db]
            command=/bin/db
            socket=unix://%(here)s/db.sock
            ready=notify
            [program:web]
            command=/bin/web
            socket=tcp://127.0.0.1:8000
            depends_on=db
            ready=http://127.0.0.1:8000/ready
            health=tcp://127.0.0.1:8000
            backoff=exponential
            backoff_max=4
            oom_score_adj=100
            [fcgi-program:php]
            command=/bin/php
            socket=tcp://127.0.0.1:9000
            [eventlistener:mon]
            command=/bin/mon
            events=PROCESS_STATE,TICK_60
            """)
        r = check(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        names = [l.split()[0] for l in r.stdout.splitlines()]
        self.assertEqual(sorted(names), ["db", "mon", "php", "web"])

    def test_depends_on_cycle(self):
        path = self.conf("""\
            [program:web]
            command=/bin/web
            depends_on=db
            [program:db]
            command=/bin/db
            depends_on=web
            """)
        r = check(path)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"%s:[36]: depends_on: a cycle: "
                         r"(web -> db -> web|db -> web -> db)"
                         % path.replace(".", r"\."))


if __name__ == "__main__":
    if not os.access(SUPERD, os.X_OK):
        sys.exit("superd not built at %s (set SUPERD_BIN)" % SUPERD)
    unittest.main()
