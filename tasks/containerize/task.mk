# containerize links the registry/image foundation (mk/image.mk).
containerize_LIBS := -ldeflate $(IMAGE_LIBS)
containerize_DEPS := $(IMAGE_DEPS)
