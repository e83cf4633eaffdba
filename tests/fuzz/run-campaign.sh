#!/bin/sh
# Runs a libFuzzer campaign on one target, starting from (and growing) its
# stored corpus, and prints libFuzzer's final stats line.
#   tests/fuzz/run-campaign.sh fuzz_msg_decode 1800
set -eu
cd "$(dirname "$0")/../.."
TARGET=${1:?usage: run-campaign.sh TARGET SECONDS}
SECS=${2:-1800}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "$TARGET" -j "$(nproc)" >/dev/null
CORPUS=tests/fuzz/corpus/$TARGET
WORK=build/fuzz/campaign/$TARGET
mkdir -p "$CORPUS" "$WORK/new"
# New interesting inputs go to a scratch dir; merge them back minimised.
"build/fuzz/tests/fuzz/$TARGET" -max_total_time="$SECS" -print_final_stats=1 \
    -artifact_prefix="$WORK/" -max_len=65535 "$WORK/new" "$CORPUS" \
    2>"$WORK/log" || { tail -50 "$WORK/log"; exit 1; }
grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$WORK/log" | tail -4
