#!/usr/bin/env bash
# Renders the HTML report of a failing scenario in headless Chromium (Debian's `chromium`) and checks it as a reader
# would see it: the page renders, the first failure is anchored, and each scenario shows one bot bubble per
# message the bot sent. Leaves the page and a screenshot in reports/ to look at.
#   scripts/check-html-report.sh [scenario.yaml]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/happy-portrait-balanced.yaml}"
out=reports/html-check
mkdir -p "$out"
# The scenario with one expectation that cannot hold: the report must show where and why.
sed 's/expect_credits: { balance: 0, ledger: \[grant, charge\] }/expect_credits: { balance: 999, ledger: [grant, charge] }/' "$scenario" > "$out/failing.yaml"
grep -q "balance: 999" "$out/failing.yaml" || { echo "no expect_credits line to break in $scenario" >&2; exit 2; }
if swift run -c debug aisha-scenario run "$scenario" "$out/failing.yaml" --html "$out/report.html" > "$out/console.txt"; then
  echo "the broken copy passed: nothing to check" >&2; exit 1
fi
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2200)
"$browser" "${flags[@]}" --dump-dom "file://$PWD/$out/report.html" 2>/dev/null > "$out/dom.html"
"$browser" "${flags[@]}" --screenshot="$PWD/$out/report.png" "file://$PWD/$out/report.html" 2>/dev/null
python3 - "$out/dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
problems = []
if dom.count('id="first-failure"') != 1: problems.append("expected one first-failure anchor, found %d" % dom.count('id="first-failure"'))
sections = re.findall(r'<details id="[^"]+" class="scenario" data-bot-messages="(\d+)".*?</details>', dom, re.S)
blocks = re.findall(r'(<details id="[^"]+" class="scenario".*?</details>)', dom, re.S)
if len(blocks) != 2: problems.append("expected 2 scenarios on the page, found %d" % len(blocks))
for block in blocks:
    want = int(re.search(r'data-bot-messages="(\d+)"', block).group(1))
    got = block.count('class="bubble bot"')
    if want == 0 or got != want: problems.append("bot bubbles: %d rendered, %d messages sent" % (got, want))
if 'class="bubble user"' not in dom: problems.append("no user bubble")
if "balance" not in dom.split('id="first-failure"')[-1][:4000]: problems.append("the failure does not show its diff")
print("\n".join(problems) or "report OK: %d scenarios, first failure anchored, bubbles match messages" % len(blocks))
sys.exit(1 if problems else 0)
PY
echo "screenshot: $out/report.png"
