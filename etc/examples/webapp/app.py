"""A small Flask application for superd's web example.

gunicorn imports `app` from this module and serves it with several worker
processes under superd (see etc/conf.d/web.ini). The routes are what the
tests and health checks use:

    /          a greeting with the worker's and the master's pid
    /healthz   200 "ok" while the worker can answer
    /api/pids  JSON {"worker": pid, "master": ppid}; the master is the
               gunicorn arbiter that superd started
    /api/hits  JSON counter of requests seen by this worker
"""

import os
import socket
import time

from flask import Flask, jsonify

app = Flask(__name__)

STARTED = time.time()
hits = 0


@app.before_request
def count_hit():
    global hits
    hits += 1


@app.route("/")
def index():
    return (
        "Hello from superd's example web app on %s\n"
        "worker pid %d, gunicorn master pid %d, worker up %.0f s\n"
        % (socket.gethostname(), os.getpid(), os.getppid(), time.time() - STARTED),
        200,
        {"Content-Type": "text/plain; charset=utf-8"},
    )


@app.route("/healthz")
def healthz():
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.route("/api/pids")
def pids():
    return jsonify(worker=os.getpid(), master=os.getppid())


@app.route("/api/hits")
def hit_count():
    return jsonify(worker=os.getpid(), hits=hits)


if __name__ == "__main__":
    # Flask's development server, for trying the app without gunicorn.
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
