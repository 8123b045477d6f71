# containerize links the registry/image foundation (mk/image.mk).
containerize_LIBS := -ldeflate $(IMAGE_LIBS)
containerize_DEPS := $(IMAGE_DEPS)
# the unit test of pgzip links libdeflate too
$(BUILD)/asan/tests/test_pgzip: COMMON_LIBS += -ldeflate
