#!/usr/bin/env bash
# Set-up, then every quality gate and test of the project; `./lab test` runs
# it once the Python virtual environment is made.
#
# Set-up (playbooks/setup.yml: packages, the Docker engine, moto, the
# registry, ghostunnel, the base image) is the first gate; the linters need
# only the virtual environment, so they run beside it, and the other gates
# start when it has passed. The gates run in lanes at once: one Ansible run
# keeps about one core busy, so lanes side by side fill both cores of the
# machines this runs on:
#   lane 1a: yamllint, role-docs, ansible-lint, ruff, syntax-check (beside set-up)
#   lane 1b: pytest-unit (files, throw-away containers, moto in-process or on
#            a port of its own)
#   lane 2:  pytest-integration (the lab itself: site.yml twice, smoke, set-up, day two,
#            ingest, resilience, the browser; on the real Dicoogle when an archive is
#            supplied, else on the Orthanc fallback), then pytest-orthanc (the main job
#            and its checks on Orthanc, when the main gate ran Dicoogle)
#   lane 3:  molecule (its own deployment name in the lab's moto)
# Lanes 1a and 1b run niced: they fill the CPU that set-up and the two serial
# lanes (one Ansible run after another) leave idle instead of slowing them.
# Gate and lane times: docs/performance.md.
# PACS_TEST_SERIAL=1 runs set-up, then the lanes, one after the other.
# Each gate runs even when an earlier one failed, but for set-up: when it
# fails, the gates that need the lab (unit, integration, molecule) do not run,
# and the summary says so. A gate's output goes to .lab/test-logs/GATE.log and
# is printed whole when the gate ends (one gate at a time, never
# interleaved); a line with the time since the start says when each gate
# starts. The exit status is non-zero when any gate failed, and the last line
# counts them.
set -uo pipefail
if [ "$#" -gt 0 ]; then
  # It takes no arguments (settings come from the environment: PACS_TEST_SERIAL,
  # PACS_TEST_EXTENDED). Refusing them also keeps a stray call, such as an
  # inventory directory scan running every executable with --list, from
  # starting a whole test run.
  echo "usage: tests/run_all.sh (no arguments; ./lab test runs it)" >&2
  exit 2
fi
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

# cpu_seconds FILE: user plus system seconds of the children line (the
# second) of bash's `times` output in FILE, rounded; "?" when unreadable.
cpu_seconds() {
  awk 'NR == 2 {
    total = 0
    for (i = 1; i <= 2; i++) { split($i, part, /[ms]/); total += part[1] * 60 + part[2] }
    printf "%d", total + 0.5; found = 1
  } END { if (!found) printf "?" }' "$1" 2>/dev/null || printf '?'
}

# gate ORDER NAME COMMAND...: run COMMAND with its output in NAME.log, then
# print it and record the result in ORDER-NAME.result for the summary.
gate() {
  local order="$1" name="$2" started rc took result
  shift 2
  printf '\033[1m==> gate %s started (%s)\033[0m\n' "$name" "$(elapsed)" | print_locked
  started=$(date +%s)
  # `times` in the gate's subshell: the CPU its processes used (containers'
  # and the Docker engine's not counted), to tell where a run's time goes.
  ("$@"; rc=$?; times >"$LOG_DIR/$name.times"; exit "$rc") >"$LOG_DIR/$name.log" 2>&1
  rc=$?
  took=$(($(date +%s) - started))
  cpu="$(cpu_seconds "$LOG_DIR/$name.times")"
  if [ "$rc" -eq 0 ]; then
    result="PASS  ${name} (${took} s, CPU ${cpu} s)"
  else
    result="FAIL  ${name} (${took} s, CPU ${cpu} s, exit ${rc})"
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
  if ! out="$(ansible-playbook -i inventories/aws --syntax-check playbooks/*.yml playbooks/stages/*.yml 2>&1)"; then
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

lane_1a() {
  gate 1 yamllint yamllint --strict .
  gate 9 role-docs python tools/role_docs.py --check
  gate 2 ansible-lint ansible-lint --profile production
  gate 3 ruff ruff check .
  gate 4 syntax-check syntax_check_all
}

lane_1b() {
  # One worker per core, each taking whole test files (--dist loadfile): a
  # file's module fixtures are made once, session fixtures once per worker
  # (the shared pacs_settings renders of tests/unit/conftest.py); the role
  # runs are subprocesses, so this keeps every core busy.
  gate 5 pytest-unit pytest -q -rs --durations=15 -n auto --dist loadfile tests/unit
}

# The main integration gate runs the engine the caller supplied: the real
# Dicoogle from an archive (the environment's PACS_DICOOGLE_ARCHIVE, _SHA256,
# _VERSION; .ci/run gives it when the reference Dicoogle build is beside the
# checkout), else the Orthanc fallback, said loudly. The Orthanc gate after it
# switches the lab to Orthanc and runs the main job twice with its smoke checks
# and the site tests (tests/integration/test_site.py); when the main gate ran
# Orthanc already it has nothing to add and says so.
integration_gate() {
  if [ -z "${PACS_DICOOGLE_ARCHIVE:-}" ]; then
    printf '\033[1;33mNOTE: no Dicoogle archive (PACS_DICOOGLE_ARCHIVE unset): the integration tests run the lab on the Orthanc fallback; the Dicoogle tests say NOT RUN\033[0m\n'
  fi
  pytest -q -rs --durations=15 tests/integration
}

orthanc_gate() {
  if [ -z "${PACS_DICOOGLE_ARCHIVE:-}" ]; then
    echo "the main integration gate ran the lab on Orthanc: nothing to add"
    echo "NOT RUN  pytest-orthanc: the main integration gate ran on Orthanc (no Dicoogle archive)" >>"$LOG_DIR/not-run.txt"
    return 0
  fi
  env -u PACS_DICOOGLE_ARCHIVE -u PACS_DICOOGLE_ARCHIVE_SHA256 -u PACS_DICOOGLE_VERSION \
    pytest -q -rs --durations=10 tests/integration/test_site.py tests/integration/test_admin_ui_browser.py
}

lane_2() {
  gate 6 pytest-integration integration_gate
  gate 8 pytest-orthanc orthanc_gate
}

lane_3() {
  gate 7 molecule molecule_all
}

# niced LANE: run the lane function LANE at a lower priority; should renice
# fail, the lane still runs, at normal priority.
niced() {
  renice -n 10 -p "$BASHPID" >/dev/null || echo "renice failed: $1 runs at normal priority"
  "$1"
}

# How many gates the lanes above run, set-up included: the summary checks
# every one reported.
GATE_COUNT=10

# setup_gate: set-up as gate 0; setup_ok=0 when it failed.
setup_ok=1
setup_gate() {
  gate 0 setup ansible-playbook playbooks/setup.yml
  grep -q '^PASS' "$LOG_DIR/0-setup.result" || setup_ok=0
}
if [ "${PACS_TEST_SERIAL:-0}" = "1" ]; then
  setup_gate
  lane_1a
  if [ "$setup_ok" = 1 ]; then
    lane_1b
    lane_2
    lane_3
  fi
else
  (niced lane_1a) &
  lane_1a_pid=$!
  setup_gate
  if [ "$setup_ok" = 1 ]; then
    (niced lane_1b) &
    lane_1b_pid=$!
    lane_2 &
    lane_2_pid=$!
    lane_3 &
    lane_3_pid=$!
    wait "$lane_1b_pid" "$lane_2_pid" "$lane_3_pid"
  fi
  wait "$lane_1a_pid"
fi
if [ "$setup_ok" = 0 ]; then
  echo "NOT RUN  pytest-unit, pytest-integration, molecule: set-up failed (see .lab/test-logs/setup.log)" \
    >>"$LOG_DIR/not-run.txt"
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
[ "$setup_ok" = 1 ] || exit 1
if [ $((passed + failed)) -ne "$GATE_COUNT" ]; then
  echo "ERROR: ${GATE_COUNT} gates should have reported, $((passed + failed)) did (a lane stopped early)"
  exit 1
fi
[ "$failed" -eq 0 ]
