#!/usr/bin/env bash
# make demo: ci-pipeline (after dct-init-pipeline) on the sample app, run here by pipeline-run
exec "$(cd "$(dirname "$0")/.." && pwd)/.pipeline/run-local.sh" "$@"
