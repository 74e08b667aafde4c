"""Marks every stream of a discovered catalog (stdin) selected and prints it (stdout):
the shell equivalent of `meltano select tap-close '*' '*'`."""

import json
import sys

catalog = json.load(sys.stdin)
for entry in catalog["streams"]:
    for item in entry["metadata"]:
        if item["breadcrumb"] == []:
            item["metadata"]["selected"] = True
json.dump(catalog, sys.stdout, indent=2)
