#!/bin/bash
# Offline validation of etc/kubernetes/ and etc/container/Dockerfile.
# `kubectl apply --dry-run=client` needs an API server, so instead:
#  - `kubectl kustomize etc/kubernetes` builds the whole set;
#  - each manifest goes through a kubectl --local command that decodes it
#    into its typed Go object and prints it back (`set env` for workloads,
#    `set selector` for Services). A field that the typed object does not
#    have is dropped there, so every field of the file must survive the
#    round trip: that catches misspelt and misplaced keys;
#  - consistency: the Service selects the Pod labels, its targetPort names
#    a container port, probes GET superd's /healthz;
#  - when npm and its registry are reachable: every object is checked
#    against the Kubernetes OpenAPI schema (npm kubernetes-models) and the
#    Dockerfile is linted (npm dockerfile-utils). Without them those two
#    checks are skipped with a reason.
set -u
src=${SUPERD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
k8s=$src/etc/kubernetes
dockerfile=$src/etc/container/Dockerfile

passed=0
failed=0
skipped=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
skip() { echo "SKIP $*"; skipped=$((skipped + 1)); }

if ! command -v kubectl >/dev/null 2>&1; then
	echo "SKIP: kubectl is not installed"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is not installed"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. kustomize builds the set.
if kubectl kustomize "$k8s" >"$tmp/all.yaml" 2>"$tmp/err" && [ ! -s "$tmp/err" ]; then
	kinds=$(grep '^kind:' "$tmp/all.yaml" | sort | tr '\n' ' ')
	if [ "$kinds" = "kind: Deployment kind: Service " ]; then
		pass "kubectl kustomize etc/kubernetes ($kinds)"
	else
		fail "kubectl kustomize: unexpected kinds: $kinds"
	fi
else
	cat "$tmp/err"
	fail "kubectl kustomize etc/kubernetes"
fi
# The same objects as one JSON List, for the checks below (kubectl prints
# one JSON document per object).
kubectl label --local -f "$tmp/all.yaml" superd-check=1 -o json \
    >"$tmp/docs.json" 2>"$tmp/err" || cat "$tmp/err"
python3 - "$tmp/docs.json" "$tmp/all.json" <<'EOF'
import json, sys

text, items, pos = open(sys.argv[1]).read(), [], 0
decoder = json.JSONDecoder()
while text[pos:].strip():
    while text[pos].isspace():
        pos += 1
    doc, pos = decoder.raw_decode(text, pos)
    items.extend(doc["items"] if doc.get("kind") == "List" else [doc])
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[2], "w"))
EOF

# 2. each manifest survives a typed round trip unchanged.
for f in "$k8s"/*.yaml; do
	name=$(basename "$f")
	[ "$name" = kustomization.yaml ] && continue
	kind=$(awk '/^kind:/ {print $2; exit}' "$f")
	case $kind in
	Deployment|StatefulSet|DaemonSet|Job|Pod)
		typed=(set env --local -f "$f" SUPERD_CHECK=1 -o json) ;;
	Service)
		sel=$(python3 -c 'import json,sys; d=json.load(sys.stdin);
print(",".join("%s=%s" % kv for kv in d["spec"]["selector"].items()))' \
		    < <(kubectl label --local -f "$f" superd-check=1 -o json))
		typed=(set selector --local -f "$f" "$sel" -o json) ;;
	*)
		skip "$name: no typed kubectl --local command for kind $kind"
		continue ;;
	esac
	if ! kubectl label --local -f "$f" superd-check=1 -o json >"$tmp/in.json" 2>"$tmp/err"; then
		cat "$tmp/err"
		fail "$name: kubectl cannot read it"
		continue
	fi
	if ! kubectl "${typed[@]}" >"$tmp/out.json" 2>"$tmp/err"; then
		cat "$tmp/err"
		fail "$name: kubectl ${typed[0]} ${typed[1]} --local"
		continue
	fi
	if python3 - "$tmp/in.json" "$tmp/out.json" <<'EOF'
import json, sys

given = json.load(open(sys.argv[1]))
typed = json.load(open(sys.argv[2]))
given["metadata"]["labels"].pop("superd-check", None)
lost = []

def walk(a, b, path):
    if isinstance(a, dict):
        if not isinstance(b, dict):
            lost.append(path)
            return
        for k, v in a.items():
            if k not in b:
                lost.append("%s.%s" % (path, k))
            else:
                walk(v, b[k], "%s.%s" % (path, k))
    elif isinstance(a, list):
        if not isinstance(b, list) or len(b) < len(a):
            lost.append(path)
            return
        for i, v in enumerate(a):
            walk(v, b[i], "%s[%d]" % (path, i))
    elif a != b:
        lost.append("%s (%r became %r)" % (path, a, b))

walk(given, typed, "")
for p in lost:
    print("  not kept by the typed object (unknown or misplaced field?): " + p)
sys.exit(1 if lost else 0)
EOF
	then
		pass "$name: every field survives kubectl ${typed[0]} ${typed[1]} --local"
	else
		fail "$name: fields lost in the typed round trip"
	fi
done

# 3. the pieces fit together.
if python3 - "$tmp/all.json" <<'EOF'
import json, sys

items = json.load(open(sys.argv[1]))["items"]
deploy = [i for i in items if i["kind"] == "Deployment"][0]
svc = [i for i in items if i["kind"] == "Service"][0]
pod = deploy["spec"]["template"]
bad = []
labels = pod["metadata"]["labels"]
for k, v in deploy["spec"]["selector"]["matchLabels"].items():
    if labels.get(k) != v:
        bad.append("Deployment selector %s=%s does not match the Pod labels" % (k, v))
for k, v in svc["spec"]["selector"].items():
    if labels.get(k) != v:
        bad.append("Service selector %s=%s does not match the Pod labels" % (k, v))
containers = pod["spec"]["containers"]
if len(containers) != 1:
    bad.append("expected one container per Pod, found %d" % len(containers))
c = containers[0]
ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
for p in svc["spec"]["ports"]:
    t = p.get("targetPort")
    if t not in ports and t not in ports.values():
        bad.append("Service targetPort %r is not a container port" % t)
for probe in ("livenessProbe", "readinessProbe"):
    get = c.get(probe, {}).get("httpGet", {})
    if get.get("path") != "/healthz" or get.get("port") not in ports and \
            get.get("port") not in ports.values():
        bad.append("%s is %r, not GET /healthz on a container port" % (probe, get))
grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
if grace <= 10:
    bad.append("terminationGracePeriodSeconds %d leaves no time for stopwaitsecs" % grace)
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
EOF
then
	pass "Deployment and Service fit (selectors, ports, probes, grace period)"
else
	fail "Deployment and Service do not fit together"
fi

# 4. optional: schema and Dockerfile lint from npm.
tools=${SUPERD_BUILD:-$tmp}/k8s-check-tools
npm_ok=0
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	skip "schema check and Dockerfile lint: npm/node not installed"
elif [ -x "$tools/node_modules/.bin/dockerfile-utils" ] &&
    [ -d "$tools/node_modules/kubernetes-models" ]; then
	npm_ok=1
elif timeout 60 npm install --prefix "$tools" --no-audit --no-fund \
    --no-save --loglevel=error kubernetes-models@4.5.1 dockerfile-utils@0.16.3 \
    >"$tmp/npm.log" 2>&1; then
	npm_ok=1
else
	tail -n 5 "$tmp/npm.log"
	skip "schema check and Dockerfile lint: npm install failed (no registry?)"
fi
if [ "$npm_ok" -eq 1 ]; then
	cat >"$tools/validate.js" <<'EOF'
// Check every object of a kubectl JSON List against the Kubernetes schema
// that kubernetes-models was generated from.
const fs = require("fs");
const list = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const models = {
	"apps/v1/Deployment": () => require("kubernetes-models/apps/v1/Deployment").Deployment,
	"v1/Service": () => require("kubernetes-models/v1/Service").Service,
};
let bad = 0;
for (const item of list.items) {
	const key = item.apiVersion + "/" + item.kind;
	if (!models[key]) {
		console.log("  no model for " + key);
		bad++;
		continue;
	}
	const Model = models[key]();
	try {
		new Model(item).validate();
		console.log("  schema ok: " + key + " " + item.metadata.name);
	} catch (e) {
		console.log("  schema error in " + key + ": " + e.message);
		bad++;
	}
}
process.exit(bad ? 1 : 0);
EOF
	if NODE_PATH=$tools/node_modules node "$tools/validate.js" "$tmp/all.json"; then
		pass "kubernetes-models schema check of every object"
	else
		fail "kubernetes-models schema check"
	fi
	if out=$("$tools/node_modules/.bin/dockerfile-utils" lint "$dockerfile" 2>&1) &&
	    [ -z "$out" ]; then
		pass "dockerfile-utils lint etc/container/Dockerfile"
	else
		echo "$out"
		fail "dockerfile-utils lint etc/container/Dockerfile"
	fi
fi

# 5. the Dockerfile copies what exists, and superd is its entry point.
df_ok=1
for p in $(awk '/^COPY / && !/--from/ {for (i = 2; i < NF; i++) print $i}' "$dockerfile"); do
	if [ ! -e "$src/$p" ]; then
		echo "  COPY source missing: $p"
		df_ok=0
	fi
done
grep -q '^ENTRYPOINT \["/usr/sbin/superd"' "$dockerfile" || { echo "  ENTRYPOINT is not superd"; df_ok=0; }
grep -q '^FROM debian:bookworm-slim AS build' "$dockerfile" || { echo "  no bookworm-slim build stage"; df_ok=0; }
[ "$df_ok" -eq 1 ] && pass "Dockerfile: COPY sources exist, superd is the ENTRYPOINT" ||
    fail "Dockerfile structure"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
