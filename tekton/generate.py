#!/usr/bin/env python3
"""Write tekton/<task>.yaml from `bin/<task> --describe`, so the Tekton Task
and the binary's param table cannot drift apart (tests/static-checks.sh
regenerates into a temp dir and diffs, and tests/tekton-lint.py checks the
rules below).

Scalar params are passed as `--name=$(params.name)` ("" for an int or bool
leaves the binary's default). List params are Tekton strings with one item
per line, passed through the env var the binary reads (PIPELINE_PARAM_NAME): Tekton cannot
prefix each element of an array param with a flag.

Workspaces follow the tektoncd catalog's names. Secrets never appear as
params: each is a file named after the param in an optional workspace (a
Kubernetes Secret), read by the binaries' --secrets-dir (an unbound
workspace's path is empty and skipped). The step runs /task (no image
config lookup), in the source workspace, under the restricted Pod Security
profile.

Step images are IMAGE (a tag) unless --images names a file of
`<task> <registry>/<repo>@sha256:<hex>` lines (`make images REGISTRY=...`
writes it): then every step is pinned to its image's digest, and a task
missing from the file is an error.

The hand-written drop-ins (--compat=SRC_DIR:OUT_DIR, tekton/compat) are
copied with every reference to one of our images (a step's image, a
BUILDER_IMAGE default) rewritten the same way: pinned from the --images
file, else back to the IMAGE tag.

Usage: tekton/generate.py [--images=FILE] [--compat=SRC_DIR:OUT_DIR] BIN_DIR OUT_DIR TASK...
"""
import json
import os
import re
import subprocess
import sys

IMAGE = "ghcr.io/secure-pipeline/{task}:{version}"
MIN_PIPELINES = "0.50.0"
PLATFORMS = "linux/amd64"

SOURCE = ("source", "the source tree (relative file params resolve here)", False)
SOURCE_OPT = ("source", "files the params name (relative file params resolve here)", True)
DOCKERCONFIG = ("dockerconfig", "a Docker config.json for the registry (DOCKER_CONFIG), "
                "and/or the files registry-creds, src-creds, dest-creds (user:password)", True)
SSLCERTDIR = ("sslcertdir", "CA certificates: name one in the registry CA param, e.g. "
              "$(workspaces.sslcertdir.path)/ca.crt", True)
KEYSTORE = ("keystore", "the file vault's keys (keystore-dir) and the files passphrase, pin "
            "(and import-passphrase) unlocking them", False)

# per task: display name, workspaces (name, description, optional[, mountPath]),
# the workspace the step works in, params fixed to a workspace path, the
# workspaces secrets are read from, params required though the binary has a
# default or can run without them
TASKS = {
    "git-clone": dict(
        display="Git Clone",
        workspaces=[("output", "the repository is cloned here (directory param: a subdirectory)", False),
                    ("ssh-directory", "SSH keys (id_ed25519, id_ecdsa, id_rsa or the IdentityFile of config), config, known_hosts and the file "
                     "ssh-key-passphrase; mounted as ~/.ssh", True, "/tekton/home/.ssh"),
                    ("basic-auth", "the file token (the HTTPS access token) or a .git-credentials file", True),
                    ("ssl-ca-directory", "CA certificates: the file crt-file-name (ca-bundle.crt)", True)],
        workdir="output", fixed={"workspace": "output", "ssl-ca-directory": "ssl-ca-directory",
                                 "basic-auth-directory": "basic-auth"},
        secrets=["basic-auth", "ssh-directory"],
        required=["url"]),
    "containerize": dict(
        display="Containerize", workspaces=[SOURCE, DOCKERCONFIG, SSLCERTDIR], workdir="source",
        docker_config=True, secrets=["dockerconfig"], required=["image"], scratch=True,
        # the task image carries no slirp4netns and a pod rarely has
        # /dev/net/tun: RUN shares the pod's own network namespace, which a
        # step in its user namespace holds no capability over
        pod_defaults={"network": ("host", "in a Tekton pod the default is host: the pod's own network "
                                  "namespace, not the node's")}),
    "build-sign": dict(
        display="Build Sign", workspaces=[KEYSTORE, DOCKERCONFIG, SSLCERTDIR, SOURCE_OPT], workdir="source",
        fixed={"keystore-dir": "keystore"}, docker_config=True, secrets=["keystore", "dockerconfig"], required=["notary-server"]),
    "dct-init": dict(
        display="DCT Init", workspaces=[KEYSTORE, SSLCERTDIR, SOURCE_OPT], workdir="source",
        fixed={"keystore-dir": "keystore"},
        secrets=["keystore"]),
    "signer-key": dict(
        display="Signer Key", workspaces=[KEYSTORE, SOURCE_OPT], workdir="source",
        fixed={"keystore-dir": "keystore"}, secrets=["keystore"]),
    "verify-signatures": dict(
        display="Verify Signatures", workspaces=[DOCKERCONFIG, SSLCERTDIR, SOURCE_OPT], workdir="source",
        docker_config=True,
        secrets=["dockerconfig"], required=["notary-server"]),
    "publish-doi": dict(
        display="Publish DOI", workspaces=[KEYSTORE, SOURCE, DOCKERCONFIG, SSLCERTDIR], workdir="source",
        fixed={"keystore-dir": "keystore"}, docker_config=True, secrets=["keystore", "dockerconfig"]),
    "image-copy": dict(
        display="Image Copy", workspaces=[SOURCE_OPT, DOCKERCONFIG, SSLCERTDIR], workdir="source",
        docker_config=True, secrets=["dockerconfig"]),
    "docker-lint": dict(display="Docker Lint", workspaces=[SOURCE], workdir="source"),
    "cis-check": dict(display="CIS Check", workspaces=[SOURCE], workdir="source"),
    "unit-tests": dict(display="Unit Tests", workspaces=[SOURCE], workdir="source", required=["image"],
                       scratch=True),
    "extract-value-jq": dict(display="Extract Value (jq)", workspaces=[SOURCE_OPT], workdir="source"),
    "image-policy": dict(display="Image Policy", workspaces=[SOURCE_OPT], workdir="source"),
    "deploy": dict(
        display="Deploy", workspaces=[SOURCE, DOCKERCONFIG, SSLCERTDIR,
                                      ("kubeconfig", "a kubeconfig: set kubeconfig to "
                                       "$(workspaces.kubeconfig.path)/config; unbound, the step's service "
                                       "account is used", True)],
        workdir="source", docker_config=True, secrets=["dockerconfig"]),
    "bom": dict(
        display="Bill of Materials", workspaces=[SOURCE_OPT, DOCKERCONFIG, SSLCERTDIR], workdir="source",
        docker_config=True, secrets=["dockerconfig"], scratch=True),
    "check-health": dict(
        display="Check Health",
        workspaces=[("kubeconfig", "a kubeconfig for the deployment param (set kubeconfig to "
                     "$(workspaces.kubeconfig.path)/config); without it the step's service account is used", True),
                    ("sslcertdir", "CA certificates for an https url: set ca-file to "
                     "$(workspaces.sslcertdir.path)/ca.crt", True), SOURCE_OPT], workdir="source"),
    "va-scan": dict(
        display="Vulnerability Scan", workspaces=[SOURCE, DOCKERCONFIG, SSLCERTDIR], workdir="source",
        docker_config=True, secrets=["dockerconfig"]),
}


def quote(s):
    return json.dumps(s, ensure_ascii=False)


def ws_path(name):
    return f"$(workspaces.{name}.path)"


def read_images(path):
    """task -> image@sha256:... from the file make images wrote"""
    images = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or not re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", fields[1]):
                sys.exit(f"{path}:{n}: expected `<task> <image>@sha256:<hex>`, got {line.strip()!r}")
            images[fields[0]] = fields[1]
    return images


def generate(bindir, task, images=None):
    d = json.loads(subprocess.run([f"{bindir}/{task}", "--describe"], check=True,
                                  capture_output=True).stdout)
    cfg = TASKS[task]
    version = d["version"]
    fixed = cfg.get("fixed", {})
    required = set(cfg.get("required", []))
    lines = [
        "# Generated by tekton/generate.py from `%s --describe`; do not edit." % task,
        "apiVersion: tekton.dev/v1",
        "kind: Task",
        "metadata:",
        f"  name: {task}",
        "  labels:",
        "    app.kubernetes.io/part-of: secure-pipeline",
        f"    app.kubernetes.io/version: {quote(version)}",
        "  annotations:",
        f"    tekton.dev/pipelines.minVersion: {quote(MIN_PIPELINES)}",
        f"    tekton.dev/platforms: {quote(PLATFORMS)}",
        f"    tekton.dev/displayName: {quote(cfg['display'])}",
        "spec:",
        f"  description: {quote(d['summary'])}",
        "  workspaces:",
    ]
    for ws in cfg["workspaces"]:
        lines += [f"    - name: {ws[0]}", f"      description: {quote(ws[1])}"]
        if ws[2]:
            lines.append("      optional: true")
        if len(ws) > 3:
            lines.append(f"      mountPath: {ws[3]}")
    lines.append("  params:")
    args, env = [], []
    for p in d["params"]:
        name = p["name"]
        if p["secret"]:
            continue  # a file in a secrets workspace
        if name in fixed:
            args.append(f"--{name}={ws_path(fixed[name])}")
            continue
        help_text = p["help"] + (" (one per line)" if p["type"] == "list" else "")
        pod_default = cfg.get("pod_defaults", {}).get(name)
        if pod_default:
            help_text += "; " + pod_default[1]
        lines += [f"    - name: {name}", "      type: string", f"      description: {quote(help_text)}"]
        if not p["required"] and name not in required:
            default = p["default"] if p["default"] is not None else ""
            if pod_default:
                default = pod_default[0]
            lines.append(f"      default: {quote(default)}")
        if p["type"] == "list":
            env.append((p["env"], f"$(params.{name})"))
        else:
            args.append(f"--{name}=$(params.{name})")
    if cfg.get("secrets"):
        args.append("--secrets-dir=" + ":".join(ws_path(w) for w in cfg["secrets"]))
    if cfg.get("docker_config"):
        env.append(("DOCKER_CONFIG", ws_path("dockerconfig")))
    if cfg.get("workdir"):
        # results beyond Tekton's 4096 bytes go to the task's workspace,
        # one directory per TaskRun (the result holds the path + digest)
        args.append("--results-overflow-dir=" + ws_path(cfg["workdir"]) + "/.results/$(context.taskRun.name)")
    lines.append("  results:")
    for r in d["results"]:
        lines += [f"    - name: {r['name']}", f"      description: {quote(r['help'])}"]
        if r["name"] == "ARTIFACT_OUTPUTS":  # Chains v2: an object {uri, digest}
            lines += ["      type: object", "      properties:", "        uri:", "          type: string",
                      "        digest:", "          type: string"]
    if cfg.get("scratch"):
        # the root is read-only: temp files (stage roots, unpacked
        # layers) go to an emptyDir at /tmp
        lines += ["  volumes:", "    - name: scratch", "      emptyDir: {}"]
    lines += [
        "  steps:",
        f"    - name: {task}",
        f"      image: {images[task] if images is not None else IMAGE.format(task=task, version=version)}",
        '      command: ["/task"]',
    ]
    if cfg.get("workdir"):
        lines.append(f"      workingDir: {ws_path(cfg['workdir'])}")
    # results go to /tekton/results, the binaries' default when it exists
    lines.append("      args:")
    lines += [f"        - {quote(a)}" for a in args]
    if env:
        lines.append("      env:")
        for var, value in env:
            lines += [f"        - name: {var}", f"          value: {quote(value)}"]
    if cfg.get("scratch"):
        lines += ["      volumeMounts:", "        - name: scratch", "          mountPath: /tmp"]
    lines += ["      securityContext:", "        runAsNonRoot: true", "        runAsUser: 65532",
              "        allowPrivilegeEscalation: false", "        readOnlyRootFilesystem: true",
              "        capabilities:", "          drop: [\"ALL\"]",
              "        seccompProfile:", "          type: RuntimeDefault"]
    return "\n".join(lines) + "\n"


def pin_compat(text, images, version, where):
    """text with each <anything>/<our task>(:version|@sha256:hex) image
    reference replaced by images[task] (or the IMAGE tag without images)"""
    ours = set(os.listdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tasks")))

    def one(m):
        task = m.group(2)
        if task not in ours:
            return m.group(0)
        if images is None:
            return IMAGE.format(task=task, version=version)
        if task not in images:
            sys.exit(f"tekton/generate.py: {where}: no image for {task} in the --images file")
        return images[task]
    return re.sub(r"[^\s\"'@]+/([^\s\"'/:@]+/)*?([a-z0-9-]+)(:" + re.escape(version) +
                  r"|@sha256:[0-9a-f]{64})(?=[\s\"']|$)", one, text, flags=re.M)


def main():
    args, images, compat = sys.argv[1:], None, None
    while args and args[0].startswith("--"):
        opt, _, value = args.pop(0).partition("=")
        if opt == "--images":
            images = read_images(value)
        elif opt == "--compat":
            compat = value.split(":", 1)
        else:
            sys.exit(f"tekton/generate.py: unknown option {opt}")
    bindir, outdir, tasks = args[0], args[1], args[2:]
    missing = [t for t in tasks if images is not None and t not in images]
    if missing:
        sys.exit(f"tekton/generate.py: no image for {', '.join(missing)} in the --images file")
    for task in tasks:
        with open(f"{outdir}/{task}.yaml", "w", encoding="utf-8") as f:
            f.write(generate(bindir, task, images))
    if compat:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "VERSION"), encoding="utf-8") as f:
            version = f.read().strip()
        os.makedirs(compat[1], exist_ok=True)
        for name in sorted(os.listdir(compat[0])):
            if not name.endswith(".yaml"):
                continue
            with open(os.path.join(compat[0], name), encoding="utf-8") as f:
                text = pin_compat(f.read(), images, version, name)
            with open(os.path.join(compat[1], name), "w", encoding="utf-8") as f:
                f.write(text)


if __name__ == "__main__":
    main()
