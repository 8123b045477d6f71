#!/usr/bin/env python3
"""Turn a TaskRun manifest, written as a user writes one for the Tekton
catalog's Task, into `pipeline-run taskrun` arguments, one per line.

Usage: taskrun-args.py TASKRUN.yaml TASKDIR VOLUME=DIR...

spec.taskRef.name picks TASKDIR/<name>.yaml; spec.params become -p
(arrays and objects as JSON); spec.workspaces become -w NAME=DIR for a
persistentVolumeClaim (claimName) or emptyDir (VOLUME named after the
workspace), and --secret-workspace NAME=DIR for a secret (secretName) or
configMap (name): each VOLUME is mapped to a host DIR by the caller."""
import json
import sys

import yaml


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        run = yaml.safe_load(f)
    if run.get("kind") != "TaskRun":
        sys.exit(f"{sys.argv[1]}: not a TaskRun")
    volumes = dict(a.split("=", 1) for a in sys.argv[3:])
    spec = run["spec"]
    out = ["-f", f"{sys.argv[2]}/{spec['taskRef']['name']}.yaml", f"--name={run['metadata']['name']}"]
    for p in spec.get("params") or []:
        v = p["value"]
        out += ["-p", f"{p['name']}={v if isinstance(v, str) else json.dumps(v)}"]
    for w in spec.get("workspaces") or []:
        if "persistentVolumeClaim" in w:
            out += ["-w", f"{w['name']}={volumes[w['persistentVolumeClaim']['claimName']]}"]
        elif "emptyDir" in w:
            out += ["-w", f"{w['name']}={volumes[w['name']]}"]
        elif "secret" in w:
            out += ["--secret-workspace", f"{w['name']}={volumes[w['secret']['secretName']]}"]
        elif "configMap" in w:
            out += ["--secret-workspace", f"{w['name']}={volumes[w['configMap']['name']]}"]
        else:
            sys.exit(f"workspace {w['name']}: binding not handled here")
    print("\n".join(out))


if __name__ == "__main__":
    main()
