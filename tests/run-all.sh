#!/bin/bash
# Every test superd has, on a fresh Debian 12 machine, as root:
# installs what is missing, builds plain and with ASan+UBSan, runs ctest
# in both. Exit status is non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libevent-dev libinih-dev
	libjansson-dev libcmocka-dev libedit2 python3 socat strace
	util-linux procps mandoc supervisor gunicorn python3-flask curl wrk
	clang dpkg-dev file lintian systemd libexpat1-dev libhttp-parser-dev libssl-dev
	prometheus openssh-server openssh-client debootstrap systemd-container
	chromium)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "== installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The booted-systemd test's Debian tree (a debootstrap, minutes of
# downloads) is fetched while the builds and other tests run; the test
# waits for it under a lock.
if [ "$(id -u)" -eq 0 ] && command -v debootstrap >/dev/null 2>&1; then
	bash tests/integration/test_systemd_nspawn.sh --prepare >/dev/null 2>&1 &
fi

jobs=$(nproc)
status=0

echo "== plain build"
cmake -S . -B build -DSUPERD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests (plain)"
ctest --test-dir build --output-on-failure -j"$jobs" || status=1

echo "== fuzz smoke (clang libFuzzer)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSUPERD_FUZZ=ON \
	-DSUPERD_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz --output-on-failure -L fuzz -j3 || status=1

echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -DSUPERD_WERROR=ON -DSUPERD_SANITIZE=ON \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE nosan || status=1

[ $status -eq 0 ] && echo "== all tests passed" || echo "== SOME TESTS FAILED"
exit $status
