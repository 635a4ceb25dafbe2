"""The project's extensions of moto 5.2.5: API calls our modules make that moto lacks.

Importing this package applies them (idempotently) to moto's response classes and backends, so they work
both in-process (`moto.mock_aws`, the unit tests) and in the server (`python -m tests.moto_ext.server`).
See README.md in this folder for what each one adds and why.
"""

from tests.moto_ext.patches import apply

apply()
