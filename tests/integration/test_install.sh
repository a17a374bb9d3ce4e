#!/bin/bash
# Install and packaging (cmake/install.cmake):
#  1. an install with the prefix /usr into a DESTDIR has the expected
#     layout, config in /etc (not /usr/etc);
#  2. a second install over a modified config keeps the admin's files;
#  3. CPack builds a .deb: contents, conffiles, Depends on the packages of
#     the libraries the binaries link, maintainer scripts (the postinst
#     also run under a simulated systemd: it starts superd whenever it is
#     not running, and leaves a running one alone on upgrade); lintian
#     when installed (tags accepted below are reported, not failed);
#  4. as root, the .deb really installs (dpkg -i), removes (dpkg -r) and
#     purges (dpkg -P) on this machine, where systemd is not running.
set -u
src=${SUPERD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

passed=0
failed=0
skipped=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
skip() { echo "SKIP $*"; skipped=$((skipped + 1)); }
finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

for tool in cmake cpack; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed"
		exit 0
	fi
done

tmp=$(mktemp -d /tmp/superd-install.XXXXXX)
dpkg_installed=0
cleanup() {
	if [ "$dpkg_installed" -eq 1 ]; then
		dpkg -P superd >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

dest=$tmp/root

# --- 1. install into a DESTDIR with the prefix /usr ---
# The tested build (SUPERD_BUILD) is reused with `--prefix /usr`: the
# install rules work SYSCONFDIR out from the prefix of the install, as
# GNUInstallDirs does for -DCMAKE_INSTALL_PREFIX=/usr. Without a build,
# one is made here.
build=${SUPERD_BUILD:-}
if [ -z "$build" ] || [ ! -x "$build/bin/superd" ] || [ ! -f "$build/cmake_install.cmake" ]; then
	build=$tmp/build
	if ! cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr \
	    -DBUILD_TESTING=OFF >"$tmp/configure.log" 2>&1; then
		cat "$tmp/configure.log"
		fail "configure with -DCMAKE_INSTALL_PREFIX=/usr"
		finish
	fi
	if ! cmake --build "$build" -j "$(nproc)" >"$tmp/build.log" 2>&1; then
		tail -n 40 "$tmp/build.log"
		fail "build"
		finish
	fi
fi
if ! DESTDIR=$dest cmake --install "$build" --prefix /usr >"$tmp/install1.log" 2>&1; then
	cat "$tmp/install1.log"
	fail "cmake --install into DESTDIR"
	finish
fi

unitdir=/usr/lib/systemd/system
if pkg-config --exists systemd 2>/dev/null; then
	unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
fi
layout_ok=1
expect() {	# expect TEST PATH...: every path under DESTDIR passes test -TEST
	local t=$1 p
	shift
	for p in "$@"; do
		if ! test "-$t" "$dest$p"; then
			echo "  missing or wrong type (-$t): $p"
			layout_ok=0
		fi
	done
}
expect x /usr/sbin/superd /usr/bin/superctl
expect f /usr/share/man/man8/superd.8.gz /usr/share/man/man1/superctl.1.gz \
    /usr/share/man/man5/superd.conf.5.gz \
    /etc/superd/superd.conf /etc/superd/conf.d/web.ini \
    /etc/logrotate.d/superd "$unitdir/superd.service" \
    /usr/share/superd/examples/webapp/app.py \
    /usr/share/superd/examples/superd.conf
if [ -f "$src/etc/superctl.bash-completion" ]; then
	expect f /usr/share/bash-completion/completions/superctl
fi
if [ -e "$dest/usr/etc" ] || [ -e "$dest/usr/local" ]; then
	echo "  found /usr/etc or /usr/local in an install with prefix /usr"
	layout_ok=0
fi
for page in man8/superd.8 man1/superctl.1 man5/superd.conf.5; do
	if ! cmp -s <(gzip -dc "$dest/usr/share/man/$page.gz" 2>/dev/null) \
	    "$src/man/$(basename $page)"; then
		echo "  $page.gz is not the gzipped source page"
		layout_ok=0
	fi
done
# The installed files point at installed paths, not at the source tree.
grep -q '^ExecStart=/usr/sbin/superd -c /etc/superd/superd.conf$' \
    "$dest$unitdir/superd.service" || { echo "  unit ExecStart"; layout_ok=0; }
grep -q '^directory = /usr/share/superd/examples/webapp$' \
    "$dest/etc/superd/conf.d/web.ini" || { echo "  web.ini directory"; layout_ok=0; }
if [ "$layout_ok" -eq 1 ]; then
	pass "DESTDIR layout (prefix /usr: config in /etc, unit in $unitdir)"
else
	(cd "$dest" && find . | sort)
	fail "DESTDIR layout"
fi

# The shipped configs load (superd -t), once superd can do that.
bin=$build/bin
if "$bin/superd" --version >/dev/null 2>&1; then
	t_ok=1
	for conf in "$src/etc/superd.conf" "$src/etc/demo.conf"; do
		if ! out=$("$bin/superd" -t -c "$conf" 2>&1); then
			echo "$out"
			t_ok=0
		fi
	done
	if [ "$t_ok" -eq 1 ]; then
		pass "superd -t accepts etc/superd.conf and etc/demo.conf"
	else
		fail "superd -t on the shipped configs"
	fi
else
	skip "superd -t on the shipped configs: superd does not run yet"
fi

# --- 2. a second install keeps a modified config ---
echo "; edited by the admin" >>"$dest/etc/superd/superd.conf"
echo "# edited by the admin" >>"$dest/etc/logrotate.d/superd"
rm "$dest/etc/superd/conf.d/web.ini"
if ! DESTDIR=$dest cmake --install "$build" --prefix /usr >"$tmp/install2.log" 2>&1; then
	cat "$tmp/install2.log"
	fail "second cmake --install"
elif grep -q '; edited by the admin' "$dest/etc/superd/superd.conf" &&
    grep -q '# edited by the admin' "$dest/etc/logrotate.d/superd" &&
    [ ! -e "$dest/etc/superd/conf.d/web.ini" ] &&
    grep -q 'Keeping existing' "$tmp/install2.log"; then
	pass "second install keeps the admin's config (edits kept, deleted drop-in not back)"
else
	cat "$tmp/install2.log"
	fail "second install overwrote the config"
fi

# --- 3. the .deb ---
if ! command -v dpkg-deb >/dev/null 2>&1; then
	skip ".deb: dpkg-deb is not installed"
	finish
fi
if grep -q '^SUPERD_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
	skip ".deb: this is a sanitizer build; the plain build's run checks packaging"
	finish
fi
if ! (cd "$build" && cpack -G DEB -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1; then
	cat "$tmp/cpack.log"
	fail "cpack -G DEB"
	finish
fi
deb=$(ls "$tmp"/pkg/superd_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
	cat "$tmp/cpack.log"
	fail "cpack made no superd_*.deb"
	finish
fi
echo "built $(basename "$deb")"
dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's#^\.##; s#/$##' \
    >"$tmp/contents"
contents_ok=1
for p in /usr/sbin/superd /usr/bin/superctl /etc/superd/superd.conf \
    /etc/superd/conf.d/web.ini /etc/logrotate.d/superd \
    "$unitdir/superd.service" /usr/share/man/man8/superd.8.gz \
    /usr/share/man/man1/superctl.1.gz /usr/share/man/man5/superd.conf.5.gz \
    /usr/share/doc/superd/changelog.gz; do
	if ! grep -qx "$p" "$tmp/contents"; then
		echo "  not in the .deb: $p"
		contents_ok=0
	fi
done
if grep -q '^/usr/etc\|^/usr/local' "$tmp/contents"; then
	echo "  .deb has files in /usr/etc or /usr/local"
	contents_ok=0
fi
if [ "$contents_ok" -eq 1 ]; then
	pass ".deb contents"
else
	dpkg-deb --contents "$deb"
	fail ".deb contents"
fi

ctl=$tmp/control
dpkg-deb -e "$deb" "$ctl"
want_conf=$(printf '%s\n' /etc/logrotate.d/superd /etc/superd/conf.d/web.ini \
    /etc/superd/superd.conf)
if [ -f "$ctl/conffiles" ] && [ "$(sort "$ctl/conffiles")" = "$want_conf" ]; then
	pass ".deb conffiles: every file under /etc"
else
	echo "  conffiles: $(cat "$ctl/conffiles" 2>/dev/null)"
	fail ".deb conffiles"
fi
scripts_ok=1
for s in postinst prerm postrm; do
	if [ ! -x "$ctl/$s" ] || ! sh -n "$ctl/$s"; then
		echo "  $s missing, not executable or not valid sh"
		scripts_ok=0
	elif ! grep -q '/run/systemd/system' "$ctl/$s" &&
	    grep -q 'systemctl\|deb-systemd-invoke' "$ctl/$s"; then
		echo "  $s calls systemd without checking that it runs"
		scripts_ok=0
	fi
done
[ "$scripts_ok" -eq 1 ] && pass ".deb maintainer scripts" || fail ".deb maintainer scripts"

# The postinst under a (simulated) running systemd: in a private mount
# namespace /run/systemd/system exists and /var/log is a tmpfs, and
# systemctl, deb-systemd-invoke and deb-systemd-helper are stubs that log
# their calls and keep the unit's active state in a file.
postinst_run() {	# postinst_run STATE ARGS...: the calls it made
	local stubs=$tmp/stubs state=$1
	shift
	mkdir -p "$stubs"
	rm -f "$tmp/calls"
	echo "$state" >"$tmp/unit-state"
	cat >"$stubs/systemctl" <<'STUB'
#!/bin/sh
echo "systemctl $*" >>"$SUPERD_T/calls"
case "$*" in
*is-active*) [ "$(cat "$SUPERD_T/unit-state")" = active ] ;;
esac
STUB
	cat >"$stubs/deb-systemd-invoke" <<'STUB'
#!/bin/sh
echo "deb-systemd-invoke $*" >>"$SUPERD_T/calls"
[ "$1" = start ] && echo active >"$SUPERD_T/unit-state"
exit 0
STUB
	cat >"$stubs/deb-systemd-helper" <<'STUB'
#!/bin/sh
echo "deb-systemd-helper $*" >>"$SUPERD_T/calls"
exit 0
STUB
	chmod 0755 "$stubs"/*
	SUPERD_T=$tmp PATH=$stubs:$PATH unshare -m --propagation private sh -c '
	    mount -t tmpfs none /run && mkdir -p /run/systemd/system &&
	    mount -t tmpfs none /var/log && exec sh "$0" "$@"' \
	    "$ctl/postinst" "$@" >"$tmp/postinst.out" 2>&1 || echo "exit $?" >>"$tmp/calls"
	cat "$tmp/calls" 2>/dev/null
}
if [ "$(id -u)" -ne 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
	skip "postinst under systemd: needs root and unshare -m"
else
	calls=$(postinst_run inactive configure)
	if echo "$calls" | grep -q '^deb-systemd-invoke start superd.service$'; then
		pass "postinst, first install: starts superd"
	else
		echo "$calls" | sed 's/^/  /'
		fail "postinst, first install: superd not started"
	fi
	# dpkg -r then dpkg -i: the conffiles stayed, so dpkg passes the
	# last configured version, as on an upgrade; superd is not running.
	calls=$(postinst_run inactive configure 0.0.9)
	if echo "$calls" | grep -q '^deb-systemd-invoke start superd.service$'; then
		pass "postinst, reinstall after dpkg -r: starts superd"
	else
		echo "$calls" | sed 's/^/  /'
		fail "postinst, reinstall after dpkg -r: superd left stopped"
	fi
	calls=$(postinst_run active configure 0.0.9)
	if ! echo "$calls" | grep -q 'deb-systemd-invoke \(start\|restart\)\|systemctl.* restart' &&
	    ! echo "$calls" | grep -q '^exit' &&
	    grep -q 'systemctl restart superd' "$tmp/postinst.out"; then
		pass "postinst, upgrade: a running superd is not restarted"
	else
		echo "$calls" | sed 's/^/  /'
		fail "postinst, upgrade: running superd touched"
	fi
fi

# Depends: the package of every shared library the binaries need.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
deps_ok=1
for lib in $(objdump -p "$bin/superd" "$bin/superctl" 2>/dev/null |
    awk '/NEEDED/ {print $2}' | sort -u); do
	path=$(ldd "$bin/superd" "$bin/superctl" | awk -v l="$lib" '$1 == l {print $3; exit}')
	[ -n "$path" ] || continue
	pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
	[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
	if [ -n "$pkg" ] && ! echo "$depends" | grep -q "\b$pkg\b"; then
		echo "  $lib ($pkg) is not in Depends"
		deps_ok=0
	fi
done
[ "$deps_ok" -eq 1 ] && pass ".deb Depends covers the linked libraries" || fail ".deb Depends"

# lintian. Accepted, reported but not failed:
#  no-copyright-file: the project has not chosen a licence yet;
#    debian/copyright needs one (the lead adds it with the licence).
if command -v lintian >/dev/null 2>&1; then
	lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1
	accepted='no-copyright-file'
	bad=$(grep -E '^[EW]: ' "$tmp/lintian.log" | grep -vE ": ($accepted)( |$)")
	grep -E '^[EWIP]: ' "$tmp/lintian.log" | sed 's/^/  lintian: /'
	if [ -n "$bad" ]; then
		fail "lintian errors or warnings beyond the accepted ($accepted)"
	else
		pass "lintian: no errors or warnings beyond the accepted ($accepted)"
	fi
else
	skip "lintian is not installed"
fi

# --- 4. dpkg -i / -r / -P on this machine ---
if [ "$(id -u)" -ne 0 ]; then
	skip "dpkg -i/-r: not root"
	finish
fi
if dpkg -s superd >/dev/null 2>&1; then
	skip "dpkg -i/-r: a superd package is already installed here"
	finish
fi
for p in /etc/superd /var/log/superd /usr/sbin/superd /usr/bin/superctl; do
	if [ -e "$p" ]; then
		skip "dpkg -i/-r: $p exists already; not touching this machine's superd"
		finish
	fi
done
dpkg_installed=1
if ! dpkg -i "$deb" </dev/null >"$tmp/dpkg-i.log" 2>&1; then
	cat "$tmp/dpkg-i.log"
	fail "dpkg -i"
	finish
fi
inst_ok=1
[ "$(dpkg-query -W -f='${Status}' superd)" = "install ok installed" ] || inst_ok=0
[ -x /usr/sbin/superd ] && [ -x /usr/bin/superctl ] || inst_ok=0
[ -f /etc/superd/superd.conf ] && [ -d /var/log/superd ] || inst_ok=0
dpkg-query -W -f='${Conffiles}\n' superd | grep -q '/etc/superd/superd.conf' || inst_ok=0
if [ "$inst_ok" -eq 1 ]; then
	pass "dpkg -i: installed, conffiles registered, scripts succeeded without systemd"
else
	cat "$tmp/dpkg-i.log"
	fail "dpkg -i: package state after install"
fi
if dpkg -r superd </dev/null >"$tmp/dpkg-r.log" 2>&1 &&
    [ ! -e /usr/sbin/superd ] && [ ! -e /usr/bin/superctl ] &&
    [ -f /etc/superd/superd.conf ]; then
	pass "dpkg -r: programs removed, conffiles kept"
else
	cat "$tmp/dpkg-r.log"
	fail "dpkg -r"
fi
if dpkg -P superd </dev/null >"$tmp/dpkg-p.log" 2>&1 &&
    [ ! -e /etc/superd ] && [ ! -e /var/log/superd ] &&
    [ ! -e /etc/logrotate.d/superd ] &&
    [ ! -L /etc/systemd/system/superd.service ] &&
    ! dpkg -s superd >/dev/null 2>&1; then
	dpkg_installed=0
	pass "dpkg -P: nothing left behind"
else
	cat "$tmp/dpkg-p.log"
	fail "dpkg -P"
fi
finish
