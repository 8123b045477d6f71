bom_LIBS := $(IMAGE_LIBS)
bom_DEPS := $(IMAGE_DEPS)
