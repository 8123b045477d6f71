#!/usr/bin/env python3
"""A Kubernetes API server emulator for tests (Python 3 stdlib only).

No real control plane can be installed on these machines, so deploy and
check-health are tested against this. It is itself checked by the real
kubectl (tests/integration/k8s-emulator.sh): discovery, /openapi/v3,
/version, CRUD with resourceVersion and generation, server-side apply with
managedFields and FieldManagerConflict, merge and JSON patches, watches
(chunked JSON lines, timeoutSeconds, bookmarks), the status subresource,
bearer-token and client-certificate authentication over TLS, and a
deployment controller that moves status along (or fails a rollout on
request) with ReplicaSets carrying revisions and pods with container
statuses. Admission webhooks as the API server calls them: a write of an
object (create, update, patch, apply; not /status, not the emulator's own
controller) goes through every MutatingWebhookConfiguration whose rules
and namespaceSelector match (AdmissionReview v1 over TLS, verified with
the caBundle; a JSONPatch answer is applied), then every
ValidatingWebhookConfiguration; a denial fails the request with the
webhook's message, a webhook that cannot be called fails it too unless its
failurePolicy is Ignore. clientConfig.url is called as it is; a
clientConfig.service through the address "webhookEndpoints" maps
"namespace/name" to (its TLS name stays name.namespace.svc).

Every API request is logged as one JSON line (method, path, query,
content type, body sha256 and length, status, user) to --log, so a test can
prove that nothing was written. Control (not logged, no auth):
  GET/POST /_emulator/config   {"rolloutDelay": s, "failures": [{"deployment":
      name | "image": substring, "reason": "ProgressDeadlineExceeded" |
      "ImagePullBackOff" | "CrashLoopBackOff"}], "resetFirst": n, "fail503": n,
      "webhookEndpoints": {"namespace/service": "127.0.0.1:port"}}
"""
import argparse
import base64
import copy
import datetime
import http.client
import hashlib
import http.server
import json
import os
import random
import socket
import socketserver
import ssl
import string
import struct
import sys
import threading
import time
import urllib.parse
import uuid

# (group, version, resource) -> (kind, namespaced, shortNames)
RESOURCES = {
    ("", "v1", "namespaces"): ("Namespace", False, ["ns"]),
    ("", "v1", "services"): ("Service", True, ["svc"]),
    ("", "v1", "configmaps"): ("ConfigMap", True, ["cm"]),
    ("", "v1", "secrets"): ("Secret", True, []),
    ("", "v1", "pods"): ("Pod", True, ["po"]),
    ("", "v1", "events"): ("Event", True, ["ev"]),
    ("apps", "v1", "deployments"): ("Deployment", True, ["deploy"]),
    ("apps", "v1", "statefulsets"): ("StatefulSet", True, ["sts"]),
    ("apps", "v1", "replicasets"): ("ReplicaSet", True, ["rs"]),
    ("apps", "v1", "controllerrevisions"): ("ControllerRevision", True, []),
    ("networking.k8s.io", "v1", "ingresses"): ("Ingress", True, ["ing"]),
    ("apps", "v1", "daemonsets"): ("DaemonSet", True, ["ds"]),
    ("batch", "v1", "jobs"): ("Job", True, []),
    ("batch", "v1", "cronjobs"): ("CronJob", True, ["cj"]),
    # custom resources, as if cert-manager's definitions were installed (a
    # cluster-scoped kind no client knows without discovery)
    ("cert-manager.io", "v1", "clusterissuers"): ("ClusterIssuer", False, []),
    ("cert-manager.io", "v1", "issuers"): ("Issuer", True, []),
    ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations"):
        ("ValidatingWebhookConfiguration", False, []),
    ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"):
        ("MutatingWebhookConfiguration", False, []),
    # the image policies image-policy writes (Portieris', sigstore
    # policy-controller's), as their CRDs define them
    ("portieris.cloud.ibm.com", "v1", "imagepolicies"): ("ImagePolicy", True, []),
    ("portieris.cloud.ibm.com", "v1", "clusterimagepolicies"): ("ClusterImagePolicy", False, []),
    ("policy.sigstore.dev", "v1beta1", "clusterimagepolicies"): ("ClusterImagePolicy", False, []),
}
WITH_STATUS = {"deployments", "statefulsets", "replicasets", "pods", "services", "ingresses", "namespaces"}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
REVISION = "deployment.kubernetes.io/revision"


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code, reason, message, details=None):
    b = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        b["details"] = details
    return b


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.body = code, status_body(code, reason, message, details)


def api_version(group, version):
    return version if not group else group + "/" + version


# ---------------------------------------------------------------- patches

def merge_patch(target, patch):
    """RFC 7386"""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def keyed(lst):
    return isinstance(lst, list) and lst and all(isinstance(i, dict) and "name" in i for i in lst)


def strategic_merge(target, patch):
    """merge patch whose lists of named items merge by name (enough of
    strategic merge for containers, env, ports, volumes)"""
    if isinstance(patch, dict) and patch.get("$patch") == "replace":  # the directive a ControllerRevision holds
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if isinstance(patch, dict) and isinstance(target, dict):
        out = copy.deepcopy(target)
        for k, v in patch.items():
            if k == "$patch":
                continue
            if v is None:
                out.pop(k, None)
            else:
                out[k] = strategic_merge(out.get(k), v)
        return out
    if keyed(patch) and keyed(target):
        out = copy.deepcopy(target)
        for item in patch:
            for i, cur in enumerate(out):
                if cur["name"] == item["name"]:
                    out[i] = strategic_merge(cur, item)
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def pointer(doc, path):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]] if path else []
    return parts


def json_patch(doc, ops):
    """RFC 6902"""
    doc = copy.deepcopy(doc)

    def parent(parts):
        cur = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    def get(parts):
        cur = doc
        for p in parts:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    def add(parts, value):
        nonlocal doc
        if not parts:
            doc = value
            return
        par, last = parent(parts), parts[-1]
        if isinstance(par, list):
            par.insert(len(par) if last == "-" else int(last), value)
        else:
            par[last] = value

    def remove(parts):
        par, last = parent(parts), parts[-1]
        if isinstance(par, list):
            return par.pop(int(last))
        return par.pop(last)

    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "a JSON patch is a list of operations")
    for op in ops:
        try:
            kind, parts = op["op"], pointer(doc, op["path"])
            if kind == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                remove(parts)
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "test":
                if get(parts) != op["value"]:
                    raise ApiError(422, "Invalid", "the test operation on %s failed" % op["path"])
            elif kind in ("move", "copy"):
                frm = pointer(doc, op["from"])
                v = copy.deepcopy(get(frm))
                if kind == "move":
                    remove(frm)
                add(parts, v)
            else:
                raise ApiError(400, "BadRequest", "unknown JSON patch operation %r" % kind)
        except (KeyError, IndexError, ValueError, TypeError) as e:
            if isinstance(e, ApiError):
                raise
            raise ApiError(422, "Invalid", "JSON patch operation %s failed: %s" % (json.dumps(op), e))
    return doc


# ------------------------------------------------------- server-side apply

def field_paths(obj, prefix=()):
    """leaf paths of an applied configuration; items of named lists keyed by name"""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if prefix == () and k in ("apiVersion", "kind"):
                continue
            if prefix == ("metadata",) and k in ("name", "namespace", "resourceVersion", "managedFields",
                                                 "uid", "generation", "creationTimestamp"):
                continue
            if isinstance(v, dict) and v:
                out.update(field_paths(v, prefix + (k,)))
            elif keyed(v):
                for item in v:
                    out.update(field_paths(item, prefix + (k, ("name", item["name"]))))
            else:
                out[prefix + (k,)] = v
    return out


def path_get(obj, path):
    cur = obj
    for p in path:
        if isinstance(p, tuple):
            if not isinstance(cur, list):
                return None
            cur = next((i for i in cur if isinstance(i, dict) and i.get("name") == p[1]), None)
        elif isinstance(cur, dict):
            cur = cur.get(p)
        else:
            return None
        if cur is None:
            return None
    return cur


def path_delete(obj, path):
    cur = obj
    for p in path[:-1]:
        if isinstance(p, tuple):
            cur = next((i for i in cur if isinstance(i, dict) and i.get("name") == p[1]), None) \
                if isinstance(cur, list) else None
        else:
            cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(path[-1], None)


def path_str(path):
    return "".join("[name=%s]" % json.dumps(p[1]) if isinstance(p, tuple) else "." + p for p in path)


def fields_v1(paths):
    tree = {}
    for path in paths:
        cur = tree
        for p in path:
            key = 'k:{"name":%s}' % json.dumps(p[1]) if isinstance(p, tuple) else "f:" + p
            cur = cur.setdefault(key, {})
    return tree


# ----------------------------------------------------------------- store

class Store:
    def __init__(self, cfg):
        self.lock = threading.Condition()
        self.rv = 1000
        self.objects = {}   # (res, ns, name) -> obj
        self.owners = {}    # (res, ns, name) -> {manager: {"op":..., "paths": set, "time":...}}
        self.events = []    # (rv, res, ns, type, obj)
        self.cfg = cfg

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def emit(self, res, ns, typ, obj):
        self.events.append((int(obj["metadata"]["resourceVersion"]), res, ns, typ, copy.deepcopy(obj)))
        if len(self.events) > 5000:
            del self.events[:1000]
        self.lock.notify_all()

    def set_managed(self, key, obj):
        mf = []
        for mgr, info in sorted(self.owners.get(key, {}).items()):
            if info["paths"]:
                mf.append({"manager": mgr, "operation": info["op"], "apiVersion": obj.get("apiVersion"),
                           "time": info["time"], "fieldsType": "FieldsV1", "fieldsV1": fields_v1(info["paths"])})
        obj["metadata"]["managedFields"] = mf

    def put(self, res, ns, obj, typ):
        """store obj (metadata set by the caller but the resourceVersion) and emit"""
        key = (res, ns, obj["metadata"]["name"])
        if getattr(ADMISSION, "user", None) is not None:  # a client's write: the webhooks first
            obj = admit(self, res, ns, obj, self.objects.get(key), ADMISSION.user)
        obj["metadata"]["resourceVersion"] = self.next_rv()
        self.set_managed(key, obj)
        self.objects[key] = obj
        self.emit(res, ns, typ, obj)
        return obj

    def new_meta(self, obj, res, ns):
        md = obj.setdefault("metadata", {})
        md.pop("resourceVersion", None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now()
        if RESOURCES[res][1]:
            md["namespace"] = ns
        if "spec" in obj or res[2] in ("deployments", "statefulsets", "replicasets"):
            md["generation"] = 1
        return obj

    def create(self, res, ns, obj, manager="unknown", op="Update"):
        name = obj.get("metadata", {}).get("name")
        if not name and obj.get("metadata", {}).get("generateName"):
            name = obj["metadata"]["generateName"] + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
            obj["metadata"]["name"] = name
        if not name:
            raise ApiError(422, "Invalid", "%s: metadata.name: Required value" % RESOURCES[res][0])
        if RESOURCES[res][1] and ns:
            if (("", "v1", "namespaces"), None, ns) not in self.objects:
                raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                               {"name": ns, "kind": "namespaces"})
        key = (res, ns, name)
        if key in self.objects:
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (res[2], name),
                           {"name": name, "group": res[0], "kind": res[2]})
        obj["apiVersion"], obj["kind"] = api_version(res[0], res[1]), RESOURCES[res][0]
        self.new_meta(obj, res, ns)
        if res[2] in WITH_STATUS and res[2] != "pods":
            obj.setdefault("status", {})
        if res[2] == "namespaces":
            obj["status"] = {"phase": "Active"}
        if res[2] == "statefulsets":  # the API server's defaults, which kubectl's rollout rule reads
            spec = obj.setdefault("spec", {})
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
            spec.setdefault("podManagementPolicy", "OrderedReady")
        self.owners[key] = {manager: {"op": op, "paths": set(field_paths(obj)), "time": now()}}
        try:
            return self.put(res, ns, obj, "ADDED")
        except ApiError:
            self.owners.pop(key, None)
            raise

    def delete_locked(self, res, ns, name):
        with self.lock:
            if (res, ns, name) in self.objects:
                self.delete(res, ns, name)

    def get(self, res, ns, name):
        obj = self.objects.get((res, ns, name))
        if obj is None:
            raise ApiError(404, "NotFound", '%s "%s" not found' % (res[2] if not res[0] else res[2] + "." + res[0], name),
                           {"name": name, "group": res[0], "kind": res[2]})
        return obj

    def update(self, res, ns, name, new, manager="unknown", op="Update", sub=None, check_rv=True):
        """replace an object (PUT semantics): spec changes bump generation"""
        cur = self.get(res, ns, name)
        want_rv = new.get("metadata", {}).get("resourceVersion")
        if check_rv and want_rv and want_rv != cur["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                           'modified; please apply your changes to the latest version and try again' % (res[2], name),
                           {"name": name, "group": res[0], "kind": res[2]})
        obj = copy.deepcopy(new)
        if sub == "status":
            out = copy.deepcopy(cur)
            out["status"] = obj.get("status", {})
            obj = out
        else:
            obj.setdefault("metadata", {})
            for k in ("uid", "creationTimestamp", "generation", "namespace"):
                if k in cur["metadata"]:
                    obj["metadata"][k] = cur["metadata"][k]
            obj["metadata"]["name"] = name
            if res[2] in WITH_STATUS and "status" in cur:
                obj["status"] = cur["status"]
            if "spec" in obj and obj.get("spec") != cur.get("spec"):
                obj["metadata"]["generation"] = cur["metadata"].get("generation", 0) + 1
        obj["apiVersion"], obj["kind"] = api_version(res[0], res[1]), RESOURCES[res][0]
        key = (res, ns, name)
        if op != "Apply" and sub != "status":
            changed = {p for p, v in field_paths(obj).items() if path_get(cur, p) != v}
            owners = self.owners.setdefault(key, {})
            for m, info in owners.items():
                if m != manager:
                    info["paths"] -= changed
            mine = owners.setdefault(manager, {"op": op, "paths": set(), "time": now()})
            mine["paths"] |= changed
            mine["time"] = now()
        return self.put(res, ns, obj, "MODIFIED")

    def apply(self, res, ns, name, cfg, manager, force):
        key = (res, ns, name)
        md = cfg.get("metadata", {})
        if md.get("name") and md["name"] != name:
            raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                           % (md["name"], name))
        paths = field_paths(cfg)
        if key not in self.objects:
            obj = copy.deepcopy(cfg)
            obj.setdefault("metadata", {})["name"] = name
            return self.create(res, ns, obj, manager, "Apply"), True
        cur = self.objects[key]
        owners = self.owners.setdefault(key, {})
        conflicts = []
        for m, info in sorted(owners.items()):
            if m == manager:
                continue
            for p in sorted(info["paths"] & set(paths), key=path_str):
                if path_get(cur, p) != paths[p]:
                    conflicts.append((m, p))
        if conflicts and not force:
            causes = [{"type": "FieldManagerConflict", "message": 'conflict with "%s"' % m, "field": path_str(p)}
                      for m, p in conflicts]
            msg = "Apply failed with %d conflict%s: %s" % (len(conflicts), "" if len(conflicts) == 1 else "s",
                                                           "; ".join('conflict with "%s": %s' % (m, path_str(p))
                                                                     for m, p in conflicts))
            raise ApiError(409, "Conflict", msg, {"causes": causes})
        for m, p in conflicts:
            owners[m]["paths"].discard(p)
        for m, info in owners.items():  # shared, equal values: co-owned; changed ones move
            if m != manager:
                info["paths"] -= {p for p in paths if path_get(cur, p) != paths[p]}
        new = strategic_merge(cur, {k: v for k, v in cfg.items() if k not in ("status",)})
        prev = owners.get(manager, {"paths": set()})["paths"]
        others = set().union(*[i["paths"] for m, i in owners.items() if m != manager]) if len(owners) > 1 else set()
        for p in prev - set(paths) - others:
            path_delete(new, p)
        owners[manager] = {"op": "Apply", "paths": set(paths), "time": now()}
        new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        return self.update(res, ns, name, new, manager, "Apply"), False

    def delete(self, res, ns, name):
        obj = self.get(res, ns, name)
        if res[2] == "namespaces" and obj["status"].get("phase") != "Terminating":
            # as the namespace controller: Terminating first, its contents
            # and itself gone a moment later (kubectl delete -f deletes the
            # namespace before the objects in it)
            term = copy.deepcopy(obj)
            term["metadata"]["deletionTimestamp"] = now()
            term["status"] = {"phase": "Terminating"}
            self.put(res, ns, term, "MODIFIED")
            t = threading.Timer(0.5, self.delete_locked, (res, ns, name))
            t.daemon = True
            t.start()
            return term
        key = (res, ns, name)
        del self.objects[key]
        self.owners.pop(key, None)
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = self.next_rv()
        self.emit(res, ns, "DELETED", obj)
        # ownerReference cascade (background)
        uid = obj["metadata"].get("uid")
        for k, o in list(self.objects.items()):
            if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences", [])):
                self.delete(k[0], k[1], k[2])
        if res[2] == "namespaces":
            for k in [k for k in self.objects if k[1] == name]:
                if k in self.objects:
                    self.delete(*k)
        return obj


# ----------------------------------------------------------- admission

ADMISSION = threading.local()  # .user while a client's write is being stored


class Admitting:
    """with Admitting(user): the writes made inside go through the webhooks"""

    def __init__(self, user):
        self.user = user

    def __enter__(self):
        ADMISSION.user = self.user

    def __exit__(self, *exc):
        ADMISSION.user = None


def rule_matches(rule, res, op):
    def any_of(key, value):
        vals = rule.get(key) or []
        return "*" in vals or value in vals
    return any_of("operations", op) and any_of("apiGroups", res[0]) and any_of("apiVersions", res[1]) and \
        any_of("resources", res[2])


def selector_matches(sel, labels):
    if not sel:
        return True
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


class _WebhookConn(http.client.HTTPSConnection):
    """to an address, verifying the certificate for another name (a Service's)"""

    def __init__(self, host, port, tls_name, ctx, timeout):
        super().__init__(host, port, context=ctx, timeout=timeout)
        self.tls_name = tls_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.tls_name)


def call_webhook(store, wh, review):
    cc = wh.get("clientConfig") or {}
    ctx = ssl.create_default_context(cadata=base64.b64decode(cc["caBundle"]).decode()) if cc.get("caBundle") \
        else ssl.create_default_context()
    timeout = float(wh.get("timeoutSeconds", 10))
    if cc.get("url"):
        u = urllib.parse.urlsplit(cc["url"])
        host, port, name, path = u.hostname, u.port or 443, u.hostname, u.path or "/"
    else:
        svc = cc.get("service") or {}
        addr = store.cfg.get("webhookEndpoints", {}).get("%s/%s" % (svc.get("namespace"), svc.get("name")))
        if not addr:
            raise OSError("no endpoints available for service \"%s/%s\"" % (svc.get("namespace"), svc.get("name")))
        host, port = addr.rsplit(":", 1)
        name, path = "%s.%s.svc" % (svc.get("name"), svc.get("namespace")), svc.get("path") or "/"
        port = int(port)
    conn = _WebhookConn(host, port, name, ctx, timeout)
    try:
        conn.request("POST", "%s?timeout=%ds" % (path, int(timeout)), body=json.dumps(review).encode(),
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise OSError("the server responded with status %d: %s" % (r.status, body[:200].decode(errors="replace")))
        out = json.loads(body)
    finally:
        conn.close()
    resp = out.get("response") if isinstance(out, dict) else None
    if not isinstance(resp, dict) or resp.get("uid") != review["request"]["uid"]:
        raise OSError("the response is not an AdmissionReview answering uid %s" % review["request"]["uid"])
    return resp


def admit(store, res, ns, obj, old, user):
    """obj as the webhooks leave it, or ApiError"""
    op = "UPDATE" if old is not None else "CREATE"
    ns_obj = store.objects.get((("", "v1", "namespaces"), None, ns)) if ns else None
    ns_labels = dict((ns_obj or {}).get("metadata", {}).get("labels") or {})
    if ns:
        ns_labels["kubernetes.io/metadata.name"] = ns
    for kind, mutating in (("mutatingwebhookconfigurations", True), ("validatingwebhookconfigurations", False)):
        cfg_res = ("admissionregistration.k8s.io", "v1", kind)
        for key in sorted(k for k in store.objects if k[0] == cfg_res):
            for wh in store.objects[key].get("webhooks") or []:
                if not any(rule_matches(r, res, op) for r in wh.get("rules") or []):
                    continue
                if ns and not selector_matches(wh.get("namespaceSelector"), ns_labels):
                    continue
                review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                    "uid": str(uuid.uuid4()),
                    "kind": {"group": res[0], "version": res[1], "kind": RESOURCES[res][0]},
                    "resource": {"group": res[0], "version": res[1], "resource": res[2]},
                    "requestKind": {"group": res[0], "version": res[1], "kind": RESOURCES[res][0]},
                    "requestResource": {"group": res[0], "version": res[1], "resource": res[2]},
                    "name": obj["metadata"].get("name", ""), "namespace": ns or "", "operation": op,
                    "userInfo": {"username": user}, "object": obj, "oldObject": old, "dryRun": False}}
                try:
                    resp = call_webhook(store, wh, review)
                except (OSError, ValueError, KeyError, http.client.HTTPException) as e:
                    if wh.get("failurePolicy", "Fail") == "Ignore":
                        continue
                    raise ApiError(500, "InternalError", 'Internal error occurred: failed calling webhook "%s": '
                                   'failed to call webhook: %s' % (wh.get("name"), e))
                if not resp.get("allowed"):
                    st = resp.get("status") or {}
                    code = st.get("code") or 403
                    raise ApiError(code, {400: "BadRequest", 403: "Forbidden"}.get(code, "Forbidden"),
                                   'admission webhook "%s" denied the request: %s' % (wh.get("name"),
                                                                                     st.get("message", "")))
                if mutating and resp.get("patch"):
                    if resp.get("patchType") != "JSONPatch":
                        raise ApiError(500, "InternalError", 'Internal error occurred: webhook "%s": unsupported '
                                       'patchType %s' % (wh.get("name"), resp.get("patchType")))
                    obj = json_patch(obj, json.loads(base64.b64decode(resp["patch"])))
    return obj


# ----------------------------------------------------------- selectors

def parse_label_selector(s):
    reqs = []
    if not s:
        return reqs
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in (x.strip() for x in parts):
        if not p:
            continue
        for op in (" notin ", " in "):
            if op in p:
                k, vals = p.split(op, 1)
                reqs.append((k.strip(), op.strip(), {v.strip() for v in vals.strip().strip("()").split(",")}))
                break
        else:
            if "!=" in p:
                k, v = p.split("!=", 1)
                reqs.append((k.strip(), "!=", v.strip()))
            elif "==" in p or "=" in p:
                k, v = p.split("==", 1) if "==" in p else p.split("=", 1)
                reqs.append((k.strip(), "=", v.strip()))
            elif p.startswith("!"):
                reqs.append((p[1:].strip(), "!", None))
            else:
                reqs.append((p, "exists", None))
    return reqs


def labels_match(labels, reqs):
    for k, op, v in reqs:
        have = labels.get(k)
        if op == "=" and have != v or op == "!=" and have == v or op == "in" and have not in v \
                or op == "notin" and have in v or op == "exists" and k not in labels or op == "!" and k in labels:
            return False
    return True


def fields_match(obj, sel):
    for part in filter(None, (sel or "").split(",")):
        neg = "!=" in part
        k, v = part.split("!=" if neg else ("==" if "==" in part else "="), 1)
        cur = obj
        for p in k.strip().split("."):
            cur = cur.get(p) if isinstance(cur, dict) else None
        if (str(cur) == v.strip()) == neg:
            return False
    return True


# ------------------------------------------------------------ controller

class Controller:
    def __init__(self, store):
        self.store = store

    def failure_for(self, dep):
        images = [c.get("image", "") for c in dep["spec"].get("template", {}).get("spec", {}).get("containers", [])]
        by_name = "statefulset" if dep.get("kind") == "StatefulSet" else "deployment"
        for f in self.store.cfg.get("failures", []):
            if f.get(by_name) and f[by_name] == dep["metadata"]["name"]:
                return f
            if f.get("image") and any(f["image"] in i for i in images):
                return f
        return None

    def event(self, ns, involved, typ, reason, message):
        s = self.store
        name = "%s.%x" % (involved["metadata"]["name"], random.getrandbits(48))
        ev = {"metadata": {"name": name},
              "involvedObject": {"kind": involved["kind"], "namespace": ns, "name": involved["metadata"]["name"],
                                 "uid": involved["metadata"].get("uid"), "apiVersion": involved["apiVersion"]},
              "reason": reason, "message": message, "type": typ, "count": 1,
              "firstTimestamp": now(), "lastTimestamp": now(), "source": {"component": "k8s-api-emulator"}}
        s.create(("", "v1", "events"), ns, ev, "k8s-api-emulator")

    def changed(self, res, ns, name):
        """a spec change of a deployment or statefulset (store lock held)"""
        obj = self.store.objects.get((res, ns, name))
        if obj is None:
            return
        gen = obj["metadata"].get("generation", 1)
        if res[2] == "statefulsets":
            # the controller's history: one ControllerRevision per distinct
            # template; a failing one (config "failures") never becomes current
            rev = self.controller_revision(ns, obj)["metadata"]["name"]
            n = obj["spec"].get("replicas", 1)
            ok = self.failure_for(obj) is None
            st = copy.deepcopy(obj)
            prev = (obj.get("status") or {}).get("currentRevision") or rev
            st["status"] = {"observedGeneration": gen, "replicas": n, "readyReplicas": n if ok else 0,
                            "currentReplicas": n, "updatedReplicas": n if ok else 0,
                            "availableReplicas": n if ok else 0,
                            "currentRevision": rev if ok else prev, "updateRevision": rev}
            self.store.update(res, ns, name, st, "k8s-api-emulator", sub="status", check_rv=False)
            return
        if res[2] != "deployments":
            return
        delay = float(self.store.cfg.get("rolloutDelay", 0))
        if delay > 0:
            self.progressing(ns, name, gen)
            t = threading.Timer(delay, self.finish_locked, (ns, name, gen))
            t.daemon = True
            t.start()
        else:
            self.finish(ns, name, gen)

    def progressing(self, ns, name, gen):
        res = ("apps", "v1", "deployments")
        dep = copy.deepcopy(self.store.objects[(res, ns, name)])
        st = dep.setdefault("status", {})
        n = dep["spec"].get("replicas", 1)
        st.update({"observedGeneration": gen, "replicas": n, "updatedReplicas": 0, "unavailableReplicas": n})
        st["conditions"] = [c for c in st.get("conditions", []) if c["type"] != "Progressing"] + [
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "lastUpdateTime": now(),
             "lastTransitionTime": now(), "message": 'Deployment "%s" is progressing.' % name}]
        self.store.update(res, ns, name, dep, "k8s-api-emulator", sub="status", check_rv=False)

    def finish_locked(self, ns, name, gen):
        with self.store.lock:
            self.finish(ns, name, gen)

    def finish(self, ns, name, gen):
        s = self.store
        res = ("apps", "v1", "deployments")
        dep = s.objects.get((res, ns, name))
        if dep is None or dep["metadata"].get("generation") != gen:
            return
        rs = self.replicaset(ns, dep)
        n = dep["spec"].get("replicas", 1)
        fail = self.failure_for(dep)
        reason = fail.get("reason", "ProgressDeadlineExceeded") if fail else None
        self.pods(ns, dep, rs, n, reason)
        dep = copy.deepcopy(s.objects[(res, ns, name)])
        dep["metadata"].setdefault("annotations", {})[REVISION] = rs["metadata"]["annotations"][REVISION]
        dep = s.update(res, ns, name, dep, "k8s-api-emulator", check_rv=False)
        dep = copy.deepcopy(dep)
        ok = reason is None
        st = {"observedGeneration": gen, "replicas": n, "updatedReplicas": n,
              "readyReplicas": n if ok else 0, "availableReplicas": n if ok else 0}
        if not ok:
            st["unavailableReplicas"] = n
        t = now()
        avail = {"type": "Available", "status": "True" if ok else "False",
                 "reason": "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
                 "message": "Deployment has minimum availability." if ok else
                 "Deployment does not have minimum availability.", "lastUpdateTime": t, "lastTransitionTime": t}
        rsname = rs["metadata"]["name"]
        if ok:
            prog = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                    "message": 'ReplicaSet "%s" has successfully progressed.' % rsname}
        elif reason == "ProgressDeadlineExceeded":
            prog = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                    "message": 'ReplicaSet "%s" has timed out progressing.' % rsname}
        else:
            prog = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                    "message": 'ReplicaSet "%s" is progressing.' % rsname}
        prog.update({"lastUpdateTime": t, "lastTransitionTime": t})
        st["conditions"] = [avail, prog]
        dep["status"] = st
        s.update(res, ns, name, dep, "k8s-api-emulator", sub="status", check_rv=False)
        if reason == "ProgressDeadlineExceeded":
            self.event(ns, dep, "Warning", "ProgressDeadlineExceeded", prog["message"])

    def controller_revision(self, ns, sts):
        """the StatefulSet controller's ControllerRevision for the current
        template: data is the strategic-merge patch restoring it, revision
        the history's newest number (a template seen before is renumbered)"""
        s = self.store
        crres = ("apps", "v1", "controllerrevisions")
        tmpl = sts["spec"].get("template", {})
        h = hashlib.sha256(json.dumps(tmpl, sort_keys=True).encode()).hexdigest()[:10]
        mine = [o for (r, n, _), o in s.objects.items() if r == crres and n == ns and
                any(ref.get("uid") == sts["metadata"]["uid"] for ref in o["metadata"].get("ownerReferences", []))]
        top = max([o.get("revision", 0) for o in mine] + [0])
        same = next((o for o in mine if o["metadata"]["labels"].get("controller.kubernetes.io/hash") == h), None)
        if same is not None:
            if same.get("revision") == top:
                return same
            cr = copy.deepcopy(same)
            cr["revision"] = top + 1
            return s.update(crres, ns, cr["metadata"]["name"], cr, "k8s-api-emulator", check_rv=False)
        labels = dict(tmpl.get("metadata", {}).get("labels", {}), **{"controller.kubernetes.io/hash": h})
        return s.create(crres, ns, {
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "%s-%s" % (sts["metadata"]["name"], h), "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                              "name": sts["metadata"]["name"], "uid": sts["metadata"]["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "data": {"spec": {"template": dict(copy.deepcopy(tmpl), **{"$patch": "replace"})}},
            "revision": top + 1}, "k8s-api-emulator")

    def replicaset(self, ns, dep):
        s = self.store
        rsres = ("apps", "v1", "replicasets")
        tmpl = dep["spec"].get("template", {})
        h = hashlib.sha256(json.dumps(tmpl, sort_keys=True).encode()).hexdigest()[:10]
        mine = [o for (r, n, _), o in s.objects.items() if r == rsres and n == ns and
                any(ref.get("uid") == dep["metadata"]["uid"] for ref in o["metadata"].get("ownerReferences", []))]
        top = max([int(o["metadata"].get("annotations", {}).get(REVISION, "0")) for o in mine] + [0])
        same = next((o for o in mine if o["metadata"]["labels"].get("pod-template-hash") == h), None)
        n = dep["spec"].get("replicas", 1)
        for o in mine:
            if o is not same and o["spec"].get("replicas", 0):
                old = copy.deepcopy(o)
                old["spec"]["replicas"] = 0
                old = s.update(rsres, ns, o["metadata"]["name"], old, "k8s-api-emulator", check_rv=False)
                old = copy.deepcopy(old)
                old["status"] = {"replicas": 0, "observedGeneration": old["metadata"]["generation"]}
                s.update(rsres, ns, o["metadata"]["name"], old, "k8s-api-emulator", sub="status", check_rv=False)
        if same is not None:
            rs = copy.deepcopy(same)
            if int(rs["metadata"]["annotations"].get(REVISION, "0")) != top:
                rs["metadata"]["annotations"][REVISION] = str(top + 1)
            rs["spec"]["replicas"] = n
            rs = s.update(rsres, ns, rs["metadata"]["name"], rs, "k8s-api-emulator", check_rv=False)
        else:
            labels = dict(tmpl.get("metadata", {}).get("labels", {}), **{"pod-template-hash": h})
            t = copy.deepcopy(tmpl)
            t.setdefault("metadata", {})["labels"] = labels
            rs = s.create(rsres, ns, {
                "metadata": {"name": "%s-%s" % (dep["metadata"]["name"], h), "labels": labels,
                             "annotations": {REVISION: str(top + 1)},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                  "name": dep["metadata"]["name"], "uid": dep["metadata"]["uid"],
                                                  "controller": True}]},
                "spec": {"replicas": n, "selector": {"matchLabels": labels}, "template": t}}, "k8s-api-emulator")
        st = copy.deepcopy(rs)
        st["status"] = {"replicas": n, "observedGeneration": rs["metadata"]["generation"]}
        return s.update(rsres, ns, rs["metadata"]["name"], st, "k8s-api-emulator", sub="status", check_rv=False)

    def pods(self, ns, dep, rs, n, reason):
        s = self.store
        pres = ("", "v1", "pods")
        for (r, pns, pname), o in list(s.objects.items()):
            if r == pres and pns == ns and o["metadata"].get("labels", {}).get("app.emulator/deployment") == \
                    dep["metadata"]["name"]:
                s.delete(pres, ns, pname)
        tmpl = rs["spec"]["template"]
        for _ in range(n):
            name = "%s-%s" % (rs["metadata"]["name"], "".join(random.choices(string.ascii_lowercase + string.digits, k=5)))
            statuses = []
            for c in tmpl.get("spec", {}).get("containers", []):
                if reason == "ImagePullBackOff":
                    state = {"waiting": {"reason": "ImagePullBackOff",
                                         "message": 'Back-off pulling image "%s"' % c.get("image")}}
                elif reason == "CrashLoopBackOff":
                    state = {"waiting": {"reason": "CrashLoopBackOff",
                                         "message": "back-off 10s restarting failed container=%s" % c.get("name")}}
                elif reason:
                    state = {"waiting": {"reason": "ContainerCreating"}}
                else:
                    state = {"running": {"startedAt": now()}}
                statuses.append({"name": c.get("name"), "image": c.get("image"), "ready": reason is None,
                                 "restartCount": 3 if reason == "CrashLoopBackOff" else 0, "state": state,
                                 "started": reason is None})
            ready = "True" if reason is None else "False"
            pod = {"metadata": {"name": name,
                                "labels": dict(tmpl.get("metadata", {}).get("labels", {}),
                                               **{"app.emulator/deployment": dep["metadata"]["name"]}),
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                     "name": rs["metadata"]["name"], "uid": rs["metadata"]["uid"],
                                                     "controller": True}]},
                   "spec": copy.deepcopy(tmpl.get("spec", {})),
                   "status": {"phase": "Running" if reason is None else "Pending",
                              "conditions": [{"type": "Ready", "status": ready}, {"type": "ContainersReady", "status": ready}],
                              "containerStatuses": statuses, "podIP": "10.0.0.%d" % random.randint(2, 250)}}
            pod = s.create(pres, ns, pod, "k8s-api-emulator")
            if reason == "ImagePullBackOff":
                img = statuses[0]["image"] if statuses else "?"
                self.event(ns, pod, "Warning", "Failed", 'Failed to pull image "%s": not found' % img)
                self.event(ns, pod, "Normal", "BackOff", 'Back-off pulling image "%s"' % img)
            elif reason == "CrashLoopBackOff":
                self.event(ns, pod, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s"
                           % (statuses[0]["name"] if statuses else "?", name))


# ------------------------------------------------------------- discovery

def resource_list(group, version):
    res = []
    for (g, v, r), (kind, namespaced, short) in sorted(RESOURCES.items()):
        if (g, v) != (group, version):
            continue
        d = {"name": r, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind, "verbs": VERBS}
        if short:
            d["shortNames"] = short
        res.append(d)
        if r in WITH_STATUS:
            res.append({"name": r + "/status", "singularName": "", "namespaced": namespaced, "kind": kind,
                        "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version(group, version),
            "resources": res}


def group_list():
    versions = {}
    for (g, v, _) in RESOURCES:
        if g:
            versions.setdefault(g, set()).add(v)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": g + "/" + v, "version": v} for v in sorted(versions[g])],
         "preferredVersion": {"groupVersion": g + "/" + max(versions[g]), "version": max(versions[g])}}
        for g in sorted(versions)]}


def openapi_root():
    gvs = sorted({("api/v1" if not g else "apis/%s/%s" % (g, v)) for (g, v, _) in RESOURCES})
    return {"paths": {gv: {"serverRelativeURL": "/openapi/v3/%s?hash=emulator" % gv} for gv in gvs}}


def openapi_gv(path):
    """a minimal OpenAPI v3 document for one group/version: the object paths
    with the PATCH parameters kubectl checks for (fieldValidation), and
    open schemas with the GVK extension"""
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": {},
           "components": {"schemas": {}}}
    for (g, v, r), (kind, namespaced, _) in RESOURCES.items():
        gv = "api/v1" if not g else "apis/%s/%s" % (g, v)
        if gv != path:
            continue
        base = "/" + gv + ("/namespaces/{namespace}" if namespaced else "") + "/" + r + "/{name}"
        params = [{"name": n, "in": "query", "schema": {"type": "string"}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        gvk = {"group": g, "version": v, "kind": kind}
        op = {"parameters": params, "x-kubernetes-group-version-kind": gvk,
              "x-kubernetes-action": "patch", "responses": {"200": {"description": "OK"}}}
        doc["paths"][base] = {"patch": op, "put": dict(op, **{"x-kubernetes-action": "put"})}
        coll = "/" + gv + ("/namespaces/{namespace}" if namespaced else "") + "/" + r
        doc["paths"][coll] = {"post": dict(op, **{"x-kubernetes-action": "post"})}
        name = "io.k8s.api.%s.%s.%s" % (g.split(".")[0] if g else "core", v, kind)
        doc["components"]["schemas"][name] = {"type": "object", "x-kubernetes-group-version-kind": [gvk],
                                              "x-kubernetes-preserve-unknown-fields": True}
    return doc


# ---------------------------------------------------------------- server

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8s-api-emulator"
    # as the real API server (Go sets TCP_NODELAY on every connection):
    # http.server writes the headers and the body apart, and on a kept-alive
    # connection Nagle held the body until the client's delayed ACK, 40 ms
    # a response
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.status_sent = code

    def record(self, body):
        srv = self.server
        rec = {"time": time.time(), "method": self.command, "path": self.url.path, "query": self.url.query,
               "contentType": self.headers.get("Content-Type"), "bodyLength": len(body),
               "bodySha256": hashlib.sha256(body).hexdigest() if body else None,
               "status": getattr(self, "status_sent", None), "user": getattr(self, "user", None)}
        with srv.log_lock:
            with open(srv.args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")

    def user_of(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            if tok in self.server.args.token:
                return "token-user"
            return None  # a wrong or expired token is refused even with a certificate
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            cert = None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return "cert:" + v
        return None

    def handle_any(self):
        self.url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        srv = self.server
        if self.url.path.startswith("/_emulator/"):
            return self.control(body)
        with srv.store.lock:
            cfg = srv.store.cfg
            if cfg.get("resetFirst", 0) > 0:
                cfg["resetFirst"] -= 1
                self.status_sent = "reset"
                self.record(body)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                try:
                    self.connection.close()
                except OSError:
                    pass
                return
            fail503 = cfg.get("fail503", 0) > 0
            if fail503:
                cfg["fail503"] -= 1
        try:
            if fail503:
                raise ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
            self.user = self.user_of()
            if self.user is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self.dispatch(body)
        except ApiError as e:
            self.send_json(e.code, e.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if not getattr(self, "recorded", False):
            self.record(body)
        self.recorded = False

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def control(self, body):
        store = self.server.store
        with store.lock:
            if self.command == "POST":
                store.cfg.update(json.loads(body or b"{}"))
            self.send_json(200, store.cfg)

    def query(self, name, default=None):
        v = urllib.parse.parse_qs(self.url.query).get(name)
        return v[-1] if v else default

    def dispatch(self, body):
        p = self.url.path.rstrip("/")
        if p == "/version":
            return self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-emulator",
                                        "platform": "linux/amd64", "goVersion": "go1.23"})
        if p == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if p == "/apis":
            return self.send_json(200, group_list())
        if p == "/openapi/v3":
            return self.send_json(200, openapi_root())
        if p.startswith("/openapi/v3/"):
            return self.send_json(200, openapi_gv(p[len("/openapi/v3/"):]))
        if p in ("/healthz", "/readyz", "/livez"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
            self.status_sent = 200
            return
        parts = p.split("/")[1:]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            if not any((g, v) == (group, version) for (g, v, _) in RESOURCES):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return self.send_json(200, resource_list(group, version))
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and (group, version, rest[2]) in RESOURCES:
            ns, rest = rest[1], rest[2:]
        res = (group, version, rest[0])
        if res not in RESOURCES:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if RESOURCES[res][1] and ns is None and len(rest) > 1:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub not in (None, "status") or (sub == "status" and res[2] not in WITH_STATUS):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self.resource(res, ns, name, sub, body)

    def parse_body(self, body):
        try:
            obj = json.loads(body or b"null")
        except ValueError:
            raise ApiError(415, "UnsupportedMediaType",
                           "the emulator reads JSON bodies only (YAML is not parsed here)")
        return obj

    def resource(self, res, ns, name, sub, body):
        store = self.server.store
        method = self.command
        manager = self.query("fieldManager") or "unknown"
        if method == "GET" and name is None and self.query("watch") in ("true", "1"):
            return self.watch(res, ns)
        with store.lock:
            if method == "GET" and name is None:
                return self.send_json(200, self.list(res, ns))
            if method == "GET":
                return self.send_json(200, store.get(res, ns, name))
            if self.query("dryRun"):
                raise ApiError(400, "BadRequest", "the emulator does not implement dryRun")
            if method == "POST" and name is None:
                obj = self.parse_body(body)
                if not isinstance(obj, dict):
                    raise ApiError(400, "BadRequest", "the body is not an object")
                with Admitting(self.user):
                    out = store.create(res, ns, obj, manager)
                self.server.controller.changed(res, ns, out["metadata"]["name"])
                return self.send_json(201, store.objects[(res, ns, out["metadata"]["name"])])
            if name is None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            if method == "DELETE":
                out = store.delete(res, ns, name)
                return self.send_json(200, out)
            if method == "PUT":
                obj = self.parse_body(body)
                if not isinstance(obj, dict):
                    raise ApiError(400, "BadRequest", "the body is not an object")
                before = store.get(res, ns, name)["metadata"].get("generation")
                with Admitting(self.user if sub is None else None):
                    out = store.update(res, ns, name, obj, manager, sub=sub)
                if out["metadata"].get("generation") != before:
                    self.server.controller.changed(res, ns, name)
                return self.send_json(200, store.objects[(res, ns, name)])
            if method == "PATCH":
                ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                patch = self.parse_body(body)
                if ct == "application/apply-patch+yaml":
                    if self.query("fieldManager") is None:
                        raise ApiError(422, "Invalid", "PATCH, fieldManager: Required value: is required for apply patch")
                    if not isinstance(patch, dict):
                        raise ApiError(400, "BadRequest", "the apply body is not an object")
                    if sub == "status":
                        raise ApiError(400, "BadRequest", "the emulator applies to objects, not to /status")
                    exists = (res, ns, name) in store.objects
                    before = store.objects[(res, ns, name)]["metadata"].get("generation") if exists else None
                    with Admitting(self.user):
                        out, created = store.apply(res, ns, name, patch, manager, self.query("force") == "true")
                    if created or out["metadata"].get("generation") != before:
                        self.server.controller.changed(res, ns, name)
                    return self.send_json(201 if created else 200, store.objects[(res, ns, name)])
                cur = store.get(res, ns, name)
                if ct == "application/merge-patch+json":
                    new = merge_patch(cur, patch)
                elif ct == "application/strategic-merge-patch+json":
                    new = strategic_merge(cur, patch)
                elif ct == "application/json-patch+json":
                    new = json_patch(cur, patch)
                else:
                    raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format "
                                   "- accepted media types include: application/json-patch+json, "
                                   "application/merge-patch+json, application/apply-patch+yaml")
                before = cur["metadata"].get("generation")
                if isinstance(new, dict) and isinstance(patch, dict) and \
                        "resourceVersion" not in (patch.get("metadata") or {}):
                    new.setdefault("metadata", {})["resourceVersion"] = cur["metadata"]["resourceVersion"]
                with Admitting(self.user if sub is None else None):
                    out = store.update(res, ns, name, new, manager, sub=sub)
                if out["metadata"].get("generation") != before:
                    self.server.controller.changed(res, ns, name)
                return self.send_json(200, store.objects[(res, ns, name)])
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def matching(self, res, ns):
        store = self.server.store
        lsel = parse_label_selector(self.query("labelSelector"))
        fsel = self.query("fieldSelector")
        for (r, ons, _), obj in sorted(store.objects.items(), key=lambda kv: (kv[0][1] or "", kv[0][2])):
            if r == res and (ns is None or ons == ns) and \
                    labels_match(obj["metadata"].get("labels", {}), lsel) and fields_match(obj, fsel):
                yield obj

    def list(self, res, ns):
        kind = RESOURCES[res][0]
        return {"kind": kind + "List", "apiVersion": api_version(res[0], res[1]),
                "metadata": {"resourceVersion": str(self.server.store.rv)},
                "items": list(self.matching(res, ns))}

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, res, ns):
        store = self.server.store
        timeout = min(float(self.query("timeoutSeconds") or 1800), 1800)
        bookmarks = self.query("allowWatchBookmarks") in ("true", "1")
        rv = self.query("resourceVersion")
        lsel = parse_label_selector(self.query("labelSelector"))
        fsel = self.query("fieldSelector")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.status_sent = 200
        # logged when it starts (its end is only noticed at the next write
        # after the client went away)
        self.record(b"")
        self.recorded = True
        end = time.monotonic() + timeout
        kind = RESOURCES[res][0]
        try:
            with store.lock:
                if not rv or rv == "0":
                    initial = list(self.matching(res, ns))
                    last = store.rv
                else:
                    initial, last = [], int(rv)
                if store.events and last < store.events[0][0] - 1:
                    self.chunk(json.dumps({"type": "ERROR", "object": status_body(
                        410, "Expired", "too old resource version: %s (%d)" % (rv, store.events[0][0]))}).encode()
                               + b"\n")
                    initial = None
            if initial is None:
                self.chunk(b"")
                return
            for obj in initial:
                self.chunk(json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n")
            idle = time.monotonic()
            while True:
                out = []
                with store.lock:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    pending = [e for e in store.events if e[0] > last]
                    if not pending:
                        store.lock.wait(min(left, 1.0))
                        pending = [e for e in store.events if e[0] > last]
                    for erv, r, ons, typ, obj in pending:
                        last = max(last, erv)
                        if r == res and (ns is None or ons == ns) and \
                                labels_match(obj["metadata"].get("labels", {}), lsel) and fields_match(obj, fsel):
                            out.append({"type": typ, "object": obj})
                    cur_rv = store.rv
                for ev in out:
                    self.chunk(json.dumps(ev).encode() + b"\n")
                if out:
                    idle = time.monotonic()
                elif bookmarks and time.monotonic() - idle > 5:
                    self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": api_version(res[0], res[1]),
                        "metadata": {"resourceVersion": str(cur_rv)}}}).encode() + b"\n")
                    idle = time.monotonic()
            self.chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        """the TLS handshake in the request's own thread, so a slow or
        rude client never blocks the others"""
        try:
            request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            super().finish_request(request, client_address)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            pass

    def shutdown_request(self, request):
        try:
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        request.close()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the bound port here")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca", help="CA of accepted client certificates")
    ap.add_argument("--token", action="append", default=[], help="an accepted bearer token (repeatable)")
    ap.add_argument("--log", required=True, help="JSON lines request log")
    ap.add_argument("--rollout-delay", type=float, default=0)
    ap.add_argument("--reset-first", type=int, default=0)
    ap.add_argument("--fail-503", type=int, default=0)
    args = ap.parse_args()
    cfg = {"rolloutDelay": args.rollout_delay, "failures": [], "resetFirst": args.reset_first,
           "fail503": args.fail_503}
    srv = Server(("127.0.0.1", args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    srv.ctx = ctx
    srv.args = args
    srv.log_lock = threading.Lock()
    srv.store = Store(cfg)
    srv.controller = Controller(srv.store)
    with srv.store.lock:
        srv.store.create(("", "v1", "namespaces"), None, {"metadata": {"name": "default"}}, "k8s-api-emulator")
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
