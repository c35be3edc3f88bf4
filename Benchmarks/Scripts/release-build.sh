#!/usr/bin/env bash
# A release build tuned the way the benchmarks and the instruction counts measure Lockstep:
#
#   Benchmarks/Scripts/release-build.sh [more swift build arguments]
#
# Cross-module optimisation lets the executable specialise the generic cores and runtime for its state machine,
# and unchecked exclusivity drops the dynamic access checks. Both are compiler flags SwiftPM refuses in a package
# used as a dependency, so the manifest carries neither; a plain `swift build -c release` works, only slower
# (Benchmarks/README.md, "Release tuning on the command line").
set -euo pipefail
cd "$(dirname "$0")/../.."
exec swift build -c release -Xswiftc -cross-module-optimization -Xswiftc -enforce-exclusivity=unchecked "$@"
