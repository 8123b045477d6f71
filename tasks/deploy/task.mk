# --target=local pulls and unpacks the image (common/registry, layer)
deploy_LIBS := -lyaml $(IMAGE_LIBS)
deploy_DEPS := $(IMAGE_DEPS)
