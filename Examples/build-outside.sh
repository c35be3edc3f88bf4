#!/usr/bin/env bash
# Proves that a package outside this repository can depend on Lockstep by a git URL and a version, and run a
# replicated service from the Ledger example's code:
#
#   Examples/build-outside.sh
#
# It clones this repository's HEAD into a temporary folder, tags the clone 0.1.0, writes a package that says
# `.package(url: "file://…/lockstep", from: "0.1.0")` and uses the product `Lockstep` only, copies the example's
# sources into it, builds it with a scratch path of its own, starts two nodes on loopback ports it checked, and
# writes one transfer through the primary. Everything it starts is killed by PID; the folder is removed.
set -euo pipefail
repository=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/lockstep-outside-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet --no-local "$repository" "$work/lockstep"
git -C "$work/lockstep" tag 0.1.0

# One executable target holds the example's library and server sources (target names must be unique across the
# package graph, and Lockstep's own manifest declares the example's), so the server's `import Ledger` goes.
mkdir -p "$work/app/Sources/OutsideLedger" "$work/arbiter"
cp "$repository"/Examples/Ledger/Sources/Ledger/*.swift "$work/app/Sources/OutsideLedger/"
grep -v '^import Ledger$' "$repository"/Examples/Ledger/Sources/LedgerServer/main.swift \
    >"$work/app/Sources/OutsideLedger/main.swift"
cat > "$work/app/Package.swift" <<MANIFEST
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "LedgerOutside",
    dependencies: [.package(url: "file://$work/lockstep", from: "0.1.0")],
    targets: [
        .executableTarget(name: "OutsideLedger", dependencies: [.product(name: "Lockstep", package: "lockstep")]),
    ]
)
MANIFEST

echo "build-outside: building a package that depends on Lockstep 0.1.0 by URL" >&2
(cd "$work/app" && swift build --scratch-path "$work/build" 2>&1 | tail -3)
server="$work/build/debug/OutsideLedger"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
client_a=$(free_port); client_b=$(free_port); channel_a=$(free_port); channel_b=$(free_port)
(umask 077 && head -c 32 /dev/urandom >"$work/cluster-secret")  # both nodes must hold the same secret
"$server" --name a --client "127.0.0.1:$client_a" --channel "127.0.0.1:$channel_a" \
    --peer "127.0.0.1:$channel_b" --arbiter "$work/arbiter" --cluster-secret-file "$work/cluster-secret" >"$work/a.out" 2>"$work/a.err" &
pids+=($!)
sleep 1
"$server" --name b --client "127.0.0.1:$client_b" --channel "127.0.0.1:$channel_b" \
    --peer "127.0.0.1:$channel_a" --arbiter "$work/arbiter" --cluster-secret-file "$work/cluster-secret" >"$work/b.out" 2>"$work/b.err" &
pids+=($!)

python3 - "$client_a" "$client_b" <<'PY'
import socket, sys, time
primary, backup = int(sys.argv[1]), int(sys.argv[2])

def ask(port, lines):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall("".join(line + "\n" for line in lines).encode())
        data = b""
        while data.count(b"\n") < len(lines):
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
        return data.decode().splitlines()

deadline = time.time() + 20
while True:
    try:
        role = ask(primary, ["ROLE"])[0]
        if "primary" in role and "backup" not in role or role.startswith("primary"):
            replies = ask(primary, ["OPEN alice", "OPEN bob", "DEPOSIT alice 100", "TRANSFER alice bob 30", "BALANCE bob"])
            if replies[-1].strip().endswith("30"):
                print("build-outside: the primary applied a transfer: " + " | ".join(replies))
                break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("build-outside: the replicated ledger did not serve within 20 s")
    time.sleep(0.2)
PY
