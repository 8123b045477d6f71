#!/usr/bin/env python3
"""Check tekton/*.yaml against the rules a real cluster applies or a
PipelineRun needs (Tekton v1 admission, Kubernetes Pod validation, Pod
Security "restricted", Tekton Chains, the catalog's conventions), and
.pipeline/*.yaml: Pipelines against Tekton's v1 Pipeline validation
(pipeline_validation.go, docs/pipelines.md: names, param and result
references that exist, runAfter targets, no cycles, workspaces bound,
when operators, context variables) with their taskRefs resolved among
tekton/*.yaml, and Tekton Triggers resources (TriggerBinding,
TriggerTemplate, EventListener: references that exist, $(tt.params.x)
declared, the PipelineRun a template makes binding what its Pipeline
needs). A taskRef to a Task not written yet is accepted only when the
Pipeline's annotation secure-pipeline/pending-tasks names it.
Prints PASS:/FAIL: per resource; exits 1 on any failure.

Usage: tests/tekton-lint.py tekton/*.yaml .pipeline/*.yaml
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
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def dns_label(s):
    """a DNS-1123 label (apimachinery IsDNS1123Label): at most 63"""
    s = str(s)
    return len(s) <= 63 and bool(DNS_LABEL.match(s))


def dns_subdomain(s):
    """a DNS-1123 subdomain (IsDNS1123Subdomain): at most 253, each label at most 63"""
    s = str(s)
    return len(s) <= 253 and bool(DNS_SUBDOMAIN.match(s)) and all(len(p) <= 63 for p in s.split("."))


def tekton_name(s):
    """a Task's or Pipeline's metadata.name: a subdomain, and at most 63
    (Tekton's webhook, validate.ObjectMetadata)"""
    return dns_subdomain(s) and len(str(s)) <= 63
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
    if not tekton_name(meta.get("name", "")):
        bad(f"metadata.name {meta.get('name')!r} is not a DNS-1123 subdomain of at most 63 characters")
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
        if not dns_label(n):
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


VAR = re.compile(r"\$\(([^()]*)\)")
PIPELINE_CONTEXT = {"context.pipelineRun.name", "context.pipelineRun.namespace", "context.pipelineRun.uid",
                    "context.pipeline.name", "context.pipelineTask.retries"}


def our_tasks():
    """tekton/*.yaml Tasks by name"""
    tasks = {}
    d = os.path.join(ROOT, "tekton")
    for n in sorted(os.listdir(d)):
        if n.endswith(".yaml"):
            with open(os.path.join(d, n), encoding="utf-8") as f:
                for doc in yaml.safe_load_all(f):
                    if doc and doc.get("kind") == "Task":
                        tasks[doc["metadata"]["name"]] = doc
    return tasks


def check_pipeline(doc, tasks):
    problems = []
    bad = problems.append
    if doc.get("apiVersion") != "tekton.dev/v1":
        bad("not tekton.dev/v1")
    meta = doc.get("metadata") or {}
    if not tekton_name(meta.get("name", "")):
        bad(f"metadata.name {meta.get('name')!r} is not a DNS-1123 subdomain of at most 63 characters")
    pending = set(((meta.get("annotations") or {}).get("secure-pipeline/pending-tasks") or "").replace(",", " ").split())
    spec = doc.get("spec") or {}
    params = {p["name"]: p for p in spec.get("params") or []}
    workspaces = {w["name"]: w for w in spec.get("workspaces") or []}
    if len(params) != len(spec.get("params") or []) or len(workspaces) != len(spec.get("workspaces") or []):
        bad("duplicate param or workspace names")
    for n, p in params.items():
        t = p.get("type", "string")
        if t not in ("string", "array", "object"):
            bad(f"param {n}: type {t!r}")
        if "default" in p and (isinstance(p["default"], list) != (t == "array") or isinstance(p["default"], dict) != (t == "object")):
            bad(f"param {n}: default is not of type {t}")
    pts = (spec.get("tasks") or [])
    fin = (spec.get("finally") or [])
    if not pts:
        bad("spec.tasks is empty")
    names = [t.get("name") for t in pts + fin]
    if len(set(names)) != len(names):
        bad("pipeline task names are not unique across tasks and finally")
    regular = {t.get("name"): t for t in pts}
    finals = {t.get("name") for t in fin}
    declared_results = {}
    for t in pts + fin:
        ref, embedded = t.get("taskRef"), t.get("taskSpec")
        if not dns_label(t.get("name", "")):
            bad(f"task {t.get('name')!r}: name is not a DNS-1123 label")
        if bool(ref) == bool(embedded):
            bad(f"task {t.get('name')}: exactly one of taskRef, taskSpec")
            continue
        task = embedded if embedded else (tasks.get(ref.get("name")) or {}).get("spec")
        if task is None:
            if ref.get("name") not in pending:
                bad(f"task {t['name']}: taskRef {ref.get('name')!r} is no Task of tekton/ (nor a pending one)")
            declared_results[t["name"]] = None
            continue
        declared_results[t["name"]] = {r["name"] for r in task.get("results") or []}
        given = [p["name"] for p in t.get("params") or []]
        if len(set(given)) != len(given):
            bad(f"task {t['name']}: a param is given twice")
        for tp in task.get("params") or []:
            if "default" not in tp and tp["name"] not in given:
                bad(f"task {t['name']}: Task param {tp['name']} has no default and is not given")
        bound = {}
        for w in t.get("workspaces") or []:
            bound[w["name"]] = w.get("workspace", w["name"])
            if bound[w["name"]] not in workspaces:
                bad(f"task {t['name']}: workspace {bound[w['name']]!r} is not declared by the Pipeline")
        tws = {w["name"]: w for w in task.get("workspaces") or []}
        for n in bound:
            if n not in tws:
                bad(f"task {t['name']}: its Task declares no workspace {n!r}")
        for n, w in tws.items():
            if not w.get("optional") and n not in bound:
                bad(f"task {t['name']}: workspace {n} of its Task is not bound")
        for w in t.get("when") or []:
            if w.get("operator") not in ("in", "notin") or not w.get("values"):
                bad(f"task {t['name']}: when needs operator in/notin and values")
        if t["name"] in finals and t.get("runAfter"):
            bad(f"finally task {t['name']}: runAfter")
        for ra in t.get("runAfter") or []:
            if ra not in regular or ra == t["name"]:
                bad(f"task {t['name']}: runAfter {ra!r} is not another task of spec.tasks")
        if "retries" in t and (not isinstance(t["retries"], int) or t["retries"] < 0):
            bad(f"task {t['name']}: retries must be a non-negative integer")
    # references, and the DAG they make with runAfter
    edges = {t.get("name"): set(t.get("runAfter") or []) for t in pts}

    def refs(where, node, in_finally):
        for s_ in strings(node):
            for expr in VAR.findall(s_):
                root = expr.split(".")[0].split("[")[0]
                if root == "params":
                    name = re.match(r"params(?:\.([^.\[]+)|\[['\"]([^'\"]+)['\"]\])", expr)
                    n = name and (name.group(1) or name.group(2))
                    if n not in params:
                        bad(f"{where}: $({expr}) names no param of the Pipeline")
                elif root == "context":
                    if expr not in PIPELINE_CONTEXT:
                        bad(f"{where}: $({expr}) is not a Pipeline context variable")
                elif root == "workspaces":
                    m = re.fullmatch(r"workspaces\.([^.]+)\.bound", expr)
                    if not m or m.group(1) not in workspaces:
                        bad(f"{where}: $({expr}): a Pipeline has $(workspaces.<declared>.bound) only")
                elif root == "tasks":
                    if expr == "tasks.status":
                        if not in_finally:
                            bad(f"{where}: $(tasks.status) outside finally")
                        continue
                    m = re.fullmatch(r"tasks\.([^.]+)\.(status|results\.([^.\[]+).*)", expr)
                    if not m or m.group(1) not in regular:
                        bad(f"{where}: $({expr}) names no task of spec.tasks")
                        continue
                    if m.group(2) == "status":
                        if not in_finally:
                            bad(f"{where}: $({expr}) outside finally")
                        continue
                    rs = declared_results.get(m.group(1))
                    if rs is not None and m.group(3) not in rs:
                        bad(f"{where}: $({expr}): Task of {m.group(1)} declares no result {m.group(3)}")
                    if not in_finally and where in edges:
                        edges[where].add(m.group(1))

    for t in pts + fin:
        refs(t.get("name"), [t.get("params") or [], t.get("when") or []], t.get("name") in finals)
    refs("spec.results", spec.get("results") or [], True)
    # no cycle (Kahn)
    indeg = {n: len(ps & set(edges)) for n, ps in edges.items()}
    ready = [n for n, d in indeg.items() if d == 0]
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for m_, ps in edges.items():
            if n in ps:
                indeg[m_] -= 1
                if indeg[m_] == 0:
                    ready.append(m_)
    if seen != len(edges):
        bad("a cycle through runAfter and result references")
    return problems


def check_triggers(docs, pipelines):
    """TriggerBindings, TriggerTemplates, EventListeners of one file: {name: problems}"""
    out = {}
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), {})[d["metadata"]["name"]] = d
    for kind, objs in by_kind.items():
        for name, d in objs.items():
            problems = []
            bad = problems.append
            if d.get("apiVersion") != "triggers.tekton.dev/v1beta1":
                bad("not triggers.tekton.dev/v1beta1")
            if not dns_subdomain(name):
                bad(f"metadata.name {name!r} is not a DNS-1123 subdomain")
            spec = d.get("spec") or {}
            if kind == "TriggerBinding":
                for p in spec.get("params") or []:
                    for expr in VAR.findall(str(p.get("value", ""))):
                        if not re.fullmatch(r"(body|header|extensions)(\.[A-Za-z0-9_-]+)+", expr):
                            bad(f"param {p.get('name')}: $({expr}) is not $(body.x), $(header.x) or $(extensions.x)")
            elif kind == "TriggerTemplate":
                tt = {p["name"]: p for p in spec.get("params") or []}
                for expr in VAR.findall(" ".join(strings(spec.get("resourcetemplates")))):
                    m = re.fullmatch(r"tt\.params\.(.+)", expr)
                    if not m or m.group(1) not in tt:
                        bad(f"$({expr}) is not a declared $(tt.params.x)")
                for rt in spec.get("resourcetemplates") or []:
                    if rt.get("kind") != "PipelineRun" or rt.get("apiVersion") != "tekton.dev/v1":
                        bad("a resource template that is not a tekton.dev/v1 PipelineRun")
                        continue
                    prs = rt.get("spec") or {}
                    pl = pipelines.get((prs.get("pipelineRef") or {}).get("name"))
                    if not pl:
                        bad(f"pipelineRef {(prs.get('pipelineRef') or {}).get('name')!r}: no Pipeline of .pipeline/")
                        continue
                    pps = {p["name"]: p for p in pl["spec"].get("params") or []}
                    given = {p["name"] for p in prs.get("params") or []}
                    for n in given - set(pps):
                        bad(f"PipelineRun param {n}: Pipeline {pl['metadata']['name']} declares no such param")
                    for n, p in pps.items():
                        if "default" not in p and n not in given:
                            bad(f"PipelineRun: Pipeline param {n} has no default and is not given")
                    pws = {w["name"]: w for w in pl["spec"].get("workspaces") or []}
                    bound = {w["name"] for w in prs.get("workspaces") or []}
                    for n in bound - set(pws):
                        bad(f"PipelineRun workspace {n}: not a workspace of the Pipeline")
                    for n, w in pws.items():
                        if not w.get("optional") and n not in bound:
                            bad(f"PipelineRun: workspace {n} of the Pipeline is not bound")
            elif kind == "EventListener":
                for tr in spec.get("triggers") or []:
                    for b in tr.get("bindings") or []:
                        if b.get("ref") not in by_kind.get("TriggerBinding", {}):
                            bad(f"trigger {tr.get('name')}: binding {b.get('ref')!r} is not in the file")
                    tref = (tr.get("template") or {}).get("ref")
                    tmpl = by_kind.get("TriggerTemplate", {}).get(tref)
                    if not tmpl:
                        bad(f"trigger {tr.get('name')}: template {tref!r} is not in the file")
                        continue
                    bound = set()
                    for b in tr.get("bindings") or []:
                        bound |= {p["name"] for p in (by_kind.get("TriggerBinding", {}).get(b.get("ref")) or {}).get("spec", {}).get("params") or []}
                    for p in tmpl["spec"].get("params") or []:
                        if "default" not in p and p["name"] not in bound:
                            bad(f"trigger {tr.get('name')}: template param {p['name']} has no default and no binding")
                    for i in tr.get("interceptors") or []:
                        if (i.get("ref") or {}).get("name") not in ("github", "gitlab", "cel", "bitbucket"):
                            bad(f"trigger {tr.get('name')}: unknown interceptor {i.get('ref')}")
            else:
                bad(f"kind {kind!r} is not a Triggers resource")
            out[f"{kind}/{name}"] = problems
    return out


def main():
    failed = 0
    tasks = None
    pipelines = {}
    docs_by_path = []
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            docs_by_path.append((path, [d for d in yaml.safe_load_all(f) if d]))
    for path, docs in docs_by_path:
        for d in docs:
            if d.get("kind") == "Pipeline":
                pipelines[d["metadata"]["name"]] = d
    for path, docs in docs_by_path:
        results = []
        triggers = [d for d in docs if str(d.get("apiVersion", "")).startswith("triggers.tekton.dev")]
        for d in docs:
            if d in triggers:
                continue
            if d.get("kind") == "Pipeline":
                if tasks is None:
                    tasks = our_tasks()
                results.append((f"{path} Pipeline/{d['metadata']['name']}", check_pipeline(d, tasks)))
            else:
                results.append((path, check(d)))
        if triggers:
            for name, problems in check_triggers(triggers, pipelines).items():
                results.append((f"{path} {name}", problems))
        for name, problems in results:
            print(("FAIL: " if problems else "PASS: ") + f"static/tekton-lint {name}")
            for p in problems:
                print("    " + p)
            failed += bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
