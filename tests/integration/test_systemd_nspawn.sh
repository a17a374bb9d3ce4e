#!/bin/bash
# superd under a real systemd (issues 9 and 13): Debian 12 bootstrapped
# into a directory and booted with systemd-nspawn; commands run inside
# through nsenter. The .deb of this build is installed there:
#  1. the unit starts superd, which runs the example web app (gunicorn
#     through the socket superd holds) and answers on :8000;
#  2. `systemctl status superd` shows superd's STATUS= line;
#  3. a warning of superd's is stored at warning priority in the journal
#     (`journalctl -u superd -p warning`);
#  4. `dpkg -r superd; dpkg -i superd.deb` leaves superd running;
#  5. an upgrade (installing the .deb again) re-executes superd in place
#     (`superctl reexec` from the postinst): superd's pid and the web
#     app's pid do not change, the unit stays active, and superd's
#     /proc/PID/exe is the newly installed binary.
# The bootstrapped tree is cached in $SUPERD_NSPAWN_CACHE
# (/var/tmp/superd-nspawn-bookworm) and copied for each run. Skips, with
# the reason, where it cannot run (not root, no debootstrap/nspawn, no
# mirror).
set -u
src=${SUPERD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cache=${SUPERD_NSPAWN_CACHE:-/var/tmp/superd-nspawn-bookworm}
mirror=${SUPERD_NSPAWN_MIRROR:-http://deb.debian.org/debian}

passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 0; }
for tool in debootstrap systemd-nspawn nsenter cpack dpkg-deb flock; do
	command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool is not installed"; exit 0; }
done

# --- the root file system, bootstrapped once ---
# Under a lock, so that tests/run-all.sh can start it in the background
# (`--prepare`) while the builds run, and the test waits for it here.
prepare_rootfs() {
	local log=$1
	exec 9>"$cache.lock"
	flock 9
	[ -x "$cache/usr/lib/systemd/systemd" ] && return 0
	rm -rf "$cache.new"
	if ! debootstrap --variant=minbase \
	    --include=systemd,systemd-sysv,dbus,procps,curl,libevent-2.1-7,libinih1,libjansson4,libexpat1,libhttp-parser2.9,libssl3,libedit2,gunicorn,python3-flask,logrotate \
	    bookworm "$cache.new" "$mirror" >"$log" 2>&1; then
		tail -n 5 "$log"
		return 1
	fi
	mv "$cache.new" "$cache"
}
if [ "${1:-}" = --prepare ]; then
	prepare_rootfs "$cache.log"
	exit
fi

build=${SUPERD_BUILD:-$src/build}
if grep -q 'SUPERD_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
	echo "SKIP: a sanitizer build; the plain build's run boots systemd"
	exit 0
fi

tmp=$(mktemp -d /var/tmp/superd-nspawn.XXXXXX)
nspawn_pid=
cleanup() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill "$nspawn_pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$nspawn_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Poll a command until it succeeds or `secs` pass.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "  timed out after ${secs}s waiting for $what"
	return 1
}

if ! prepare_rootfs "$tmp/debootstrap.log"; then
	echo "SKIP: debootstrap of Debian 12 failed (no mirror?)"
	exit 0
fi
exec 9>&-
root=$tmp/root
cp -a "$cache" "$root"

# --- the .deb of this build ---
if ! (cd "$build" && cpack -G DEB -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1; then
	tail -n 20 "$tmp/cpack.log"
	fail "cpack -G DEB"
	finish
fi
deb=$(ls "$tmp"/pkg/superd_*.deb | head -n 1)
cp "$deb" "$root/root/superd.deb"

# --- boot ---
systemd-nspawn -q -b -D "$root" --register=no --keep-unit --network-veth \
    </dev/null >"$tmp/console.log" 2>&1 &
nspawn_pid=$!
leader=
# The container's init: nspawn's child that runs systemd. nspawn forks
# an intermediate child first, which goes away: a pid taken too early is
# not the leader, so look again until it is systemd.
find_leader() {
	local pid
	for pid in $(pgrep -P "$nspawn_pid"); do
		if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ]; then
			leader=$pid
			return 0
		fi
	done
	return 1
}
in_ct() { nsenter -t "$leader" -a "$@"; }
last_state=
booted() {
	find_leader || return 1
	last_state=$(in_ct systemctl is-system-running 2>&1)
	[ "$last_state" = running ] || [ "$last_state" = degraded ] && return 0
	# A job that never ends (seen once under load) keeps the system
	# "starting" though everything this test needs is up.
	[ "$(in_ct systemctl is-active multi-user.target 2>&1)" = active ]
}
if ! wait_for 60 "the container's init" find_leader || ! wait_for 90 "systemd to boot" booted; then
	echo "last is-system-running: $last_state"
	[ -n "$leader" ] && in_ct systemctl list-jobs --no-pager 2>&1 | head -n 10
	tail -n 20 "$tmp/console.log"
	fail "systemd-nspawn -b boots Debian 12"
	finish
fi
pass "systemd booted in a container ($(in_ct systemctl is-system-running))"

# --- 1. install: the unit runs superd and the web app ---
if in_ct dpkg -i /root/superd.deb >"$tmp/dpkg1.log" 2>&1 &&
    wait_for 30 "superd to be active" in_ct systemctl is-active --quiet superd &&
    wait_for 60 "the web app to answer" in_ct curl -fsS -o /dev/null http://127.0.0.1:8000/; then
	pass "dpkg -i: superd active, web app answers on :8000"
else
	cat "$tmp/dpkg1.log"
	in_ct journalctl -u superd --no-pager | tail -n 20
	fail "dpkg -i: superd and the web app"
	finish
fi

# --- 2. STATUS= in systemctl status ---
status_line() { in_ct systemctl status superd --no-pager | grep -q 'Status: ".*running'; }
if wait_for 10 "a STATUS= line" status_line; then
	pass "systemctl status: $(in_ct systemctl status superd --no-pager | grep 'Status:' | sed 's/^ *//')"
else
	in_ct systemctl status superd --no-pager
	fail "systemctl status shows no STATUS= line"
fi

# --- 3. warnings at warning priority ---
# A drop-in with an unknown key is a warning at the next reload.
printf '[program:warnme]\ncommand = /bin/sleep 1000\nno_such_key = 1\n' \
    >"$root/etc/superd/conf.d/warnme.ini"
chmod 0644 "$root/etc/superd/conf.d/warnme.ini"
in_ct systemctl reload superd
warned() { in_ct journalctl -u superd -p warning --no-pager | grep -q no_such_key; }
if wait_for 15 "the warning in the journal" warned; then
	pass "journalctl -p warning shows superd's warning"
else
	in_ct journalctl -u superd --no-pager -o verbose | grep -E 'PRIORITY|MESSAGE' | tail -n 10
	fail "superd's warning is not at warning priority"
fi
rm -f "$root/etc/superd/conf.d/warnme.ini"
in_ct systemctl reload superd

# --- 4. remove + install starts it again ---
if in_ct dpkg -r superd >"$tmp/dpkg-r.log" 2>&1 &&
    in_ct dpkg -i /root/superd.deb >"$tmp/dpkg2.log" 2>&1 &&
    wait_for 30 "superd to be active again" in_ct systemctl is-active --quiet superd; then
	pass "dpkg -r; dpkg -i: superd runs again"
else
	cat "$tmp/dpkg-r.log" "$tmp/dpkg2.log"
	fail "dpkg -r; dpkg -i leaves superd stopped"
fi

# --- 5. an upgrade re-executes superd in place ---
wait_for 60 "the web app to answer" in_ct curl -fsS -o /dev/null http://127.0.0.1:8000/
main_pid=$(in_ct systemctl show -p MainPID --value superd)
web_pid=$(in_ct superctl pid web)
if in_ct dpkg -i /root/superd.deb >"$tmp/dpkg3.log" 2>&1; then
	new_main=$(in_ct systemctl show -p MainPID --value superd)
	new_web=$(in_ct superctl pid web)
	exe=$(in_ct readlink "/proc/$new_main/exe")
	if [ "$new_main" = "$main_pid" ] && [ "$new_web" = "$web_pid" ] &&
	    in_ct systemctl is-active --quiet superd && [ "$exe" = /usr/sbin/superd ]; then
		pass "upgrade: superd $main_pid re-executed ($exe), web app $web_pid untouched"
	else
		cat "$tmp/dpkg3.log"
		echo "  superd $main_pid -> $new_main, web $web_pid -> $new_web, exe $exe"
		fail "upgrade did not keep superd and the web app running"
	fi
else
	cat "$tmp/dpkg3.log"
	fail "dpkg -i (upgrade)"
fi
finish
