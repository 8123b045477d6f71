#!/usr/bin/env python3
"""Check tekton/*.yaml against the rules a real cluster applies or a
PipelineRun needs (Tekton v1 admission, Kubernetes Pod validation, Pod
Security "restricted", Tekton Chains, the catalog's conventions).
Prints PASS:/FAIL: per Task; exits 1 on any failure.

Usage: tests/tekton-lint.py tekton/*.yaml
"""
import os
import re
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as _f:
    VERSION = _f.read().strip()
OUR_TASKS = set(os.listdir(os.path.join(ROOT, "tasks")))

NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]*$")       # Tekton param/result names
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")  # Kubernetes env var names
REF = re.compile(r"\$\((params|workspaces|results)\.([^).]+)(?:\.([a-z]+))?\)")


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def check(doc):
    problems = []
    bad = problems.append
    if doc.get("apiVersion") != "tekton.dev/v1" or doc.get("kind") != "Task":
        bad("not a tekton.dev/v1 Task")
    meta = doc.get("metadata", {})
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    if not labels.get("app.kubernetes.io/version"):
        bad("no app.kubernetes.io/version label")
    for key in ("tekton.dev/pipelines.minVersion", "tekton.dev/platforms", "tekton.dev/displayName"):
        if not notes.get(key):
            bad(f"no {key} annotation")
    spec = doc.get("spec", {})
    params = {p["name"]: p for p in spec.get("params") or []}
    workspaces = {w["name"]: w for w in spec.get("workspaces") or []}
    results = {r["name"] for r in spec.get("results") or []}
    for r in spec.get("results") or []:
        # Tekton Chains v2 reads ARTIFACT_OUTPUTS only as an object with uri and digest strings
        props = r.get("properties") or {}
        if r["name"] == "ARTIFACT_OUTPUTS" and (r.get("type") != "object" or any(
                (props.get(k) or {}).get("type") != "string" for k in ("uri", "digest"))):
            bad("result ARTIFACT_OUTPUTS is not an object with string properties uri and digest")
    if len(params) != len(spec.get("params") or []) or len(workspaces) != len(spec.get("workspaces") or []):
        bad("duplicate param or workspace names")
    for n in list(params) + list(results):
        if not NAME.match(n):
            bad(f"invalid param/result name {n!r}")
    for n, w in workspaces.items():
        if not DNS_LABEL.match(n):
            bad(f"workspace name {n!r} is not a DNS label")
        if "mountPath" in w and not w["mountPath"].startswith("/"):
            bad(f"workspace {n} mountPath is not absolute")
    for n, p in params.items():
        if n.endswith("-secret"):
            bad(f"param {n}: secrets come from workspaces, not from Secret names in params")
        # arrays: the catalog's Tasks (tekton/compat) take them, e.g.
        # BUILD_ARGS; they must then be used whole, as an arg of their own
        if p.get("type", "string") not in ("string", "array"):
            bad(f"param {n} is neither a string nor an array")
    for s in strings(spec):
        for kind, name, attr in REF.findall(s):
            whole = name.endswith("[*]")
            name = name[:-3] if whole else name
            if kind == "params" and name not in params:
                bad(f"$(params.{name}) is not declared")
            elif kind == "params" and (params[name].get("type") == "array") != whole:
                bad(f"$(params.{name}{'[*]' if whole else ''}): an array param is referenced as [*], a string one not")
            elif kind == "params" and whole and s != f"$(params.{name}[*])":
                bad(f"$(params.{name}[*]) must be a whole arg of its own (Tekton array expansion)")
            if kind == "workspaces" and name not in workspaces:
                bad(f"$(workspaces.{name}.{attr}) names no declared workspace")
            if kind == "workspaces" and attr not in ("path", "bound", "claim", "volume"):
                bad(f"$(workspaces.{name}.{attr}): unknown attribute")
            if kind == "results" and name not in results:
                bad(f"$(results.{name}...) is not declared")
    steps = spec.get("steps") or []
    if not steps:
        bad("no steps")
    for st in steps:
        sn = st.get("name", "?")
        # an image `make images` builds: <ns>/<task>:<VERSION> or, after
        # `make images REGISTRY=...; make tekton`, <ns>/<task>@sha256:...
        image = str(st.get("image", ""))
        m = re.fullmatch(rf"[^@\s]+/([^/:@\s]+)(:{re.escape(VERSION)}|@sha256:[0-9a-f]{{64}})", image)
        if not m or m.group(1) not in OUR_TASKS:
            bad(f"step {sn}: image {image!r} is not <registry>/<task>:{VERSION} nor <registry>/<task>@sha256:<hex>")
        if st.get("command") != ["/task"]:
            bad(f"step {sn}: command is not [\"/task\"] (the controller would fetch the image config)")
        sc = st.get("securityContext") or {}
        if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            bad(f"step {sn}: no seccompProfile RuntimeDefault (Pod Security restricted)")
        if sc.get("runAsNonRoot") is not True or sc.get("allowPrivilegeEscalation") is not False:
            bad(f"step {sn}: must run as non-root without privilege escalation")
        if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
            bad(f"step {sn}: capabilities not dropped")
        wd = st.get("workingDir")
        if wd is not None and not (wd.startswith("/") or wd.startswith("$(workspaces.")):
            bad(f"step {sn}: workingDir {wd!r} is relative")
        for e in st.get("env") or []:
            if not ENV_NAME.match(e.get("name", "")):
                bad(f"step {sn}: invalid env name {e.get('name')!r}")
            ref = ((e.get("valueFrom") or {}).get("secretKeyRef")) or {}
            if ref:
                name = str(ref.get("name", ""))
                m = re.fullmatch(r"\$\(params\.([^)]+)\)", name)
                if not name or (m and not str((params.get(m.group(1)) or {}).get("default", "x"))):
                    bad(f"step {sn}: env {e['name']}: secretKeyRef name can be empty (Kubernetes rejects the Pod)")
    return problems


def main():
    failed = 0
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            problems = check(yaml.safe_load(f))
        print(("FAIL: " if problems else "PASS: ") + f"static/tekton-lint {path}")
        for p in problems:
            print("    " + p)
        failed += bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
