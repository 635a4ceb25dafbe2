#!/usr/bin/env bash
# Every quality gate and test of the project; called by `./lab test` after
# set-up (which starts the Docker engine, moto and the registry).
#
# The gates run in three lanes at once: one Ansible run keeps about one core
# busy, so lanes side by side fill both cores of the machines this runs on:
#   lane 1: yamllint, ansible-lint, ruff, syntax-check, pytest-unit
#           (files, throw-away containers, moto in-process or on a port of its
#           own), niced: the filler
#   lane 2: pytest-integration (the lab itself: site.yml twice, smoke, set-up)
#   lane 3: molecule (its own deployment name in the lab's moto)
# Measured alone on 2 cores: ansible-lint 7.7 min, integration 34 min,
# molecule/pki ~34 min before its side effects were trimmed. In CI (stop 9,
# lanes unniced) lane 1 ended after 48 min, molecule after 60, and
# integration's first site.yml overran its 30-min timeout (now 60).
# PACS_TEST_SERIAL=1 runs the lanes one after the other.
# Each gate runs even when an earlier one failed. A gate's output goes to
# .lab/test-logs/GATE.log and is printed whole when the gate ends (one gate at
# a time, never interleaved); a line with the time since the start says when
# each gate starts. The exit status is non-zero when any gate failed, and the
# last line counts them.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LOG_DIR="$ROOT/.lab/test-logs"
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
STARTED=$(date +%s)
elapsed() { echo "t+$(($(date +%s) - STARTED)) s"; }

# print_locked: stdin to stdout while holding the print lock.
print_locked() {
  flock "$LOG_DIR/.print.lock" cat
}

# gate ORDER NAME COMMAND...: run COMMAND with its output in NAME.log, then
# print it and record the result in ORDER-NAME.result for the summary.
gate() {
  local order="$1" name="$2" started rc took result
  shift 2
  printf '\033[1m==> gate %s started (%s)\033[0m\n' "$name" "$(elapsed)" | print_locked
  started=$(date +%s)
  "$@" >"$LOG_DIR/$name.log" 2>&1
  rc=$?
  took=$(($(date +%s) - started))
  if [ "$rc" -eq 0 ]; then
    result="PASS  ${name} (${took} s)"
  else
    result="FAIL  ${name} (${took} s, exit ${rc})"
  fi
  echo "$result" >"$LOG_DIR/$order-$name.result"
  {
    printf '\n\033[1m==> gate: %s (ended %s)\033[0m\n' "$name" "$(elapsed)"
    cat "$LOG_DIR/$name.log"
    printf '\033[1m<== %s\033[0m\n' "$result"
  } | print_locked
}

syntax_check_all() {
  # ansible-lint already runs --syntax-check on every playbook against the
  # default inventory (ansible.cfg: inventories/lab), one process per
  # playbook; this adds the AWS inventory, in one ansible-playbook run (its
  # start-up is the cost). An error names the file it is in.
  local out
  if ! out="$(ansible-playbook -i inventories/aws --syntax-check playbooks/*.yml 2>&1)"; then
    printf '%s\nsyntax-check failed against inventories/aws\n' "$out"
    return 1
  fi
  echo "every playbook passes --syntax-check against inventories/aws (and, in ansible-lint, inventories/lab)"
}

# A scenario still being built carries a PENDING file that says why; it is
# not run here, and that is said loudly and counted in the summary. Run it by
# hand with `molecule test -s NAME`.
# A scenario with an EXTENDED file (it says what covers its role in the
# default run, and what the scenario adds) runs only in the extended suite
# (`./lab test --extended`, PACS_TEST_EXTENDED=1): the default run must fit
# CI's time on a 2-core machine. Skipping it is said loudly too.
# not_run SCENARIO FILE LABEL: say loudly that a scenario is not run, with the
# reason its FILE gives, and list it in the summary.
not_run() {
  printf '\033[1;33mNOT RUN%s: molecule scenario %s: %s\033[0m\n' "$3" "$1" "$(tr '\n' ' ' <"molecule/$1/$2")"
  echo "NOT RUN  molecule/$1$3: $(head -n1 "molecule/$1/$2")" >>"$LOG_DIR/not-run.txt"
}
molecule_all() {
  local scenario rc=0
  for scenario in molecule/*/molecule.yml; do
    scenario="$(basename "$(dirname "$scenario")")"
    if [ -f "molecule/$scenario/PENDING" ]; then
      not_run "$scenario" PENDING ""
      continue
    fi
    if [ -f "molecule/$scenario/EXTENDED" ] && [ "${PACS_TEST_EXTENDED:-0}" != "1" ]; then
      not_run "$scenario" EXTENDED " (extended suite only, ./lab test --extended)"
      continue
    fi
    molecule test -s "$scenario" || rc=1
  done
  return "$rc"
}

lane_1() {
  gate 1 yamllint yamllint --strict .
  gate 2 ansible-lint ansible-lint --profile production
  gate 3 ruff ruff check .
  gate 4 syntax-check syntax_check_all
  # One worker per core, each taking whole test files (--dist loadfile): a
  # file's module fixtures are made once, session fixtures once per worker
  # (the shared pacs_settings renders of tests/unit/conftest.py); the role
  # runs are subprocesses, so this keeps every core busy.
  gate 5 pytest-unit pytest -q --durations=15 -n auto --dist loadfile tests/unit
}

lane_2() {
  gate 6 pytest-integration pytest -q --durations=15 tests/integration
}

lane_3() {
  gate 7 molecule molecule_all
}
# How many gates the lanes above run: the summary checks every one reported.
GATE_COUNT=7

if [ "${PACS_TEST_SERIAL:-0}" = "1" ]; then
  lane_1
  lane_2
  lane_3
else
  # Lane 1 runs niced: its pytest workers fill the CPU the two serial lanes
  # (one Ansible run after another) leave idle, instead of slowing them down;
  # otherwise the last serial lane runs on alone at the end, on one core.
  (renice -n 10 -p "$BASHPID" >/dev/null && lane_1) &
  lane_1_pid=$!
  lane_2 &
  lane_2_pid=$!
  lane_3 &
  lane_3_pid=$!
  wait "$lane_1_pid" "$lane_2_pid" "$lane_3_pid"
fi

printf '\n\033[1m==> summary (%s)\033[0m\n' "$(elapsed)"
passed=0
failed=0
for result_file in "$LOG_DIR"/*.result; do
  result="$(cat "$result_file")"
  echo "$result"
  case "$result" in
    PASS*) passed=$((passed + 1)) ;;
    *) failed=$((failed + 1)) ;;
  esac
done
[ -f "$LOG_DIR/not-run.txt" ] && cat "$LOG_DIR/not-run.txt"
echo "gates: ${passed} passed, ${failed} failed (logs in .lab/test-logs/)"
if [ $((passed + failed)) -ne "$GATE_COUNT" ]; then
  echo "ERROR: ${GATE_COUNT} gates should have reported, $((passed + failed)) did (a lane stopped early)"
  exit 1
fi
[ "$failed" -eq 0 ]
