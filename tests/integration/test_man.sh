#!/bin/bash
# The man pages are valid mdoc: `mandoc -Tlint -Wwarning` prints nothing
# for each of them (any output, even a style warning, fails the test), and
# each one renders.
set -u
src=${SUPERD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

if ! command -v mandoc >/dev/null 2>&1; then
	echo "SKIP: mandoc is not installed (apt-get install mandoc)"
	exit 0
fi

pages="superd.8 superctl.1 superd.conf.5"
passed=0
failed=0
for page in $pages; do
	file=$src/man/$page
	if [ ! -f "$file" ]; then
		echo "FAIL $page: missing"
		failed=$((failed + 1))
		continue
	fi
	out=$(mandoc -Tlint -Wwarning "$file" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL $page: mandoc -Tlint -Wwarning:"
		echo "$out"
		failed=$((failed + 1))
		continue
	fi
	if ! mandoc -Tutf8 "$file" >/dev/null 2>&1; then
		echo "FAIL $page: does not render"
		failed=$((failed + 1))
		continue
	fi
	echo "PASS $page"
	passed=$((passed + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
