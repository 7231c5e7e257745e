"""Prints, as JSON, the managed policies SAM attaches to each function's generated role.

Run with the SAM venv's Python (it needs samtranslator, which only that venv has).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from samtranslator.translator.transform import transform  # type: ignore[import-not-found]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-not-found]


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def main(template_path: str) -> None:
    source = Path(template_path).read_text()
    # The translator wants S3 locations where `sam build` would put them.
    source = re.sub(r"(CodeUri|ContentUri): \S+", r"\1: s3://bucket/key", source)
    translated = transform(yaml_parse(source), {}, _NoManagedPolicies())
    roles = {
        name: resource["Properties"].get("ManagedPolicyArns", [])
        for name, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    json.dump(roles, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
