#!/bin/sh
# Builds the benchmark (release) and runs it: Keel's SpiderMonkey engine and node v20, same
# transformation and events, one core each, batches of 1 and 100. Prints medians and the ratio.
set -eu
cd "$(dirname "$0")/../.."
swift build -c release --product transformations-benchmark
exec .build/release/transformations-benchmark --node-script Benchmarks/transformations/node-bench.mjs "$@"
