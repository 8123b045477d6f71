# crun runtime: images from registries and OCI layouts (common/registry, layer)
pipeline-run_LIBS := -lyaml $(IMAGE_LIBS)
pipeline-run_DEPS := $(IMAGE_DEPS)
