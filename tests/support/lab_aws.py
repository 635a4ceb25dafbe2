"""boto3 clients of the lab's AWS: moto's server on 127.0.0.1:5000."""

from __future__ import annotations

import boto3

ENDPOINT = "http://127.0.0.1:5000"


def lab_client(service: str):
    """A client of `service` against the lab's moto server, with moto's dummy credentials (not a secret)."""
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    )
