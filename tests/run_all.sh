#!/usr/bin/env bash
# Every quality gate and test of the project, in order; called by `./lab test`
# after set-up (which starts the Docker engine, moto and the registry).
# Each gate runs even when an earlier one failed; the exit status is non-zero
# when any failed, and the last line counts them.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

passed=0
failed=0
summary=()

gate() {
  local name="$1" started rc
  shift
  printf '\n\033[1m==> gate: %s\033[0m\n' "$name"
  started=$(date +%s)
  "$@"
  rc=$?
  local took=$(($(date +%s) - started))
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    summary+=("PASS  ${name} (${took} s)")
  else
    failed=$((failed + 1))
    summary+=("FAIL  ${name} (${took} s, exit ${rc})")
  fi
}

syntax_check_all() {
  # One ansible-playbook per inventory with every playbook (its start-up is
  # the cost); an error names the file it is in.
  local inv out rc=0
  for inv in inventories/lab inventories/aws; do
    if ! out="$(ansible-playbook -i "$inv" --syntax-check playbooks/*.yml 2>&1)"; then
      printf '%s\nsyntax-check failed against %s\n' "$out" "$inv"
      rc=1
    fi
  done
  [ "$rc" -eq 0 ] && echo "every playbook passes --syntax-check against both inventories"
  return "$rc"
}

# A scenario still being built carries a PENDING file that says why; it is
# not run here, and that is said loudly and counted in the summary. Run it by
# hand with `molecule test -s NAME`.
# A scenario with an EXTENDED file (it says what covers its role in the
# default run, and what the scenario adds) runs only in the extended suite
# (`./lab test --extended`, PACS_TEST_EXTENDED=1): the default run must fit
# CI's time on a 2-core machine. Skipping it is said loudly too.
pending=()
# not_run SCENARIO FILE LABEL: say loudly that a scenario is not run, with the
# reason its FILE gives, and list it in the summary.
not_run() {
  printf '\033[1;33mNOT RUN%s: molecule scenario %s: %s\033[0m\n' "$3" "$1" "$(tr '\n' ' ' <"molecule/$1/$2")"
  pending+=("NOT RUN  molecule/$1$3: $(head -n1 "molecule/$1/$2")")
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

gate yamllint yamllint --strict .
gate ansible-lint ansible-lint --profile production
gate ruff ruff check .
gate syntax-check syntax_check_all
# One worker per core, each taking whole test files (--dist loadfile): a
# file's module fixtures are made once, session fixtures once per worker (the
# shared pacs_settings renders of tests/unit/conftest.py); the role runs are
# subprocesses, so this keeps every core busy.
gate pytest-unit pytest -q -n auto --dist loadfile tests/unit
gate molecule molecule_all
gate pytest-integration pytest -q tests/integration

printf '\n\033[1m==> summary\033[0m\n'
printf '%s\n' "${summary[@]}"
[ "${#pending[@]}" -gt 0 ] && printf '%s\n' "${pending[@]}"
echo "gates: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
