unit-tests_LIBS := $(IMAGE_LIBS)
unit-tests_DEPS := $(IMAGE_DEPS)
