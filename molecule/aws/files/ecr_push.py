"""Put one image manifest per repository into moto's ECR and print their digests as JSON.

    python ecr_push.py <deployment> <name>...

moto serves ECR's API but not the registry protocol `docker push` speaks, so the
rehearsal stands in for the push of role container_images with PutImage: a
schema 2 manifest whose layer digest is made from the repository's name (the
same manifest, so the same digest, at every run). An image already there under
the tag is looked up instead (the repositories' tags are immutable).
Prints {name: "<registry>/<deployment>/<name>@sha256:..."}. Endpoint, region and
credentials come from the environment, as for aws_state.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import boto3


def main(deployment, names):
    ecr = boto3.client(
        "ecr", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, region_name=os.environ["AWS_DEFAULT_REGION"]
    )
    digests = {}
    for name in names:
        repository = f"{deployment}/{name}"
        layer = "sha256:" + hashlib.sha256(f"rehearsal layer of {repository}".encode()).hexdigest()
        tag = "rehearsal-" + layer[7:19]
        found = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}]).get("images", [])
        if found:
            digest = found[0]["imageId"]["imageDigest"]
        else:
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": layer},
                "layers": [
                    {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2, "digest": layer}
                ],
            }
            image = ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)["image"]
            digest = image["imageId"]["imageDigest"]
        uri = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]["repositoryUri"]
        digests[name] = f"{uri}@{digest}"
    json.dump(digests, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
