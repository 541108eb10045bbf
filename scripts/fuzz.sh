#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (swiftc -sanitize=fuzzer,address; not part of `swift build`) and runs each
# for SECONDS, starting from its committed seed corpus in Fuzz/corpus/<target>. Inputs that grow coverage are kept in
# .build-fuzz/corpus/<target>; a crash or a broken property stops the run and leaves its input in .build-fuzz/findings/.
#
#   scripts/fuzz.sh [--seconds N] [target ...]     targets: json zip image status-report bot-api-body (default: all)
#
# Exit status: 0 when every target ran its time without a finding.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(json zip image status-report bot-api-body)

out=.build-fuzz
mkdir -p "$out/findings"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g)
quiet() { grep -v "Cannot export local symbol" || true; }

# The few SupportKit files the targets need, as a module of their own (no NIO or HTTP client behind them).
swiftc "${flags[@]}" -enable-testing -module-name SupportKit -emit-library -static \
  -emit-module -emit-module-path "$out/SupportKit.swiftmodule" -o "$out/libSupportKit.a" \
  Sources/SupportKit/{JSONValue,JSONReader,JSONWriter,ImageProbe}.swift 2>&1 | quiet

sources() {
  case "$1" in
    json|image) ;;
    zip) echo "Sources/MockFAL/Jobs/ZipArchive.swift -I Sources/CSystemZlib -lz" ;;
    status-report) echo "Sources/AishaSystem/FAL/StatusReport.swift" ;;
    bot-api-body) echo "Sources/ScenarioRunner/MockTelegram/BotAPIBody.swift" ;;
    *) echo "unknown fuzz target '$1' (json zip image status-report bot-api-body)" >&2; exit 2 ;;
  esac
}

export SWIFT_BACKTRACE=enable=no   # libFuzzer and ASan report the crash; Swift's backtracer trips ASan itself
status=0
for target in "${targets[@]}"; do
  extra=$(sources "$target")
  # shellcheck disable=SC2086
  swiftc "${flags[@]}" -module-name "Fuzz_${target//-/_}" -I "$out" -L "$out" -lSupportKit \
    "Fuzz/$target/main.swift" $extra -o "$out/fuzz-$target" 2>&1 | quiet
  mkdir -p "$out/corpus/$target"
  echo "== $target: ${seconds}s"
  # The zip reader's size cap: no single allocation over 16 MB, whatever the archive claims (libFuzzer's inputs are
  # a few KB; an entry is read up to a 64 KB limit).
  malloc_limit=512
  [[ "$target" == zip ]] && malloc_limit=16
  if "$out/fuzz-$target" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb="$malloc_limit" -print_final_stats=1 \
      -artifact_prefix="$out/findings/$target-" "$out/corpus/$target" "Fuzz/corpus/$target" > "$out/$target.log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|INFO: Done" "$out/$target.log" | sed 's/^/   /'
    echo "   corpus: $(ls "$out/corpus/$target" | wc -l) inputs"
  else
    status=1
    echo "   FINDING — $(ls -t "$out/findings/$target-"* 2>/dev/null | head -1)"
    grep -E "Fatal error|Precondition failed|ERROR: |SUMMARY" "$out/$target.log" | head -5 | sed 's/^/   /'
  fi
done
exit $status
