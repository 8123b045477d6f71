image-copy_LIBS := $(IMAGE_LIBS)
image-copy_DEPS := $(IMAGE_DEPS)
