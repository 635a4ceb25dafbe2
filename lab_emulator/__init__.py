"""The lab's AWS: moto 5.2.5 extended with the API calls and behaviours our modules need that moto lacks.

This is the lab's runtime, not a test: `./lab up` (role lab_services) runs `lab_emulator/server.py`, and the
molecule scenarios, the unit tests and the benchmarks use the same code. Importing this package applies
the extensions (idempotently) to moto's response classes and backends, so they work both in-process
(`moto.mock_aws`, the unit tests) and in the server (`python -m lab_emulator.server`). See README.md in
this folder for what each one adds and why.
"""

from lab_emulator.patches import apply

apply()
