#!/bin/bash
# The README's first command: on a fresh Debian 12 machine, as root,
# install what is missing, build, and run superd in the foreground on
# etc/demo.conf, which supervises a small gunicorn/Flask web app on
# http://127.0.0.1:8000/. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libevent-dev libinih-dev
	libjansson-dev libcmocka-dev libedit2 python3 gunicorn python3-flask
	libexpat1-dev libhttp-parser-dev libssl-dev)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p /tmp/superd-demo

cat <<MSG
superd is starting on etc/demo.conf. In another terminal try:
    build/bin/superctl -c etc/demo.conf status
    curl http://127.0.0.1:8000/
    build/bin/superctl -c etc/demo.conf restart web
    build/bin/superctl -c etc/demo.conf tail -f web
Ctrl-C here stops every program and superd.
MSG
exec build/bin/superd -c etc/demo.conf
