dct-init_LIBS := $(CURL_LIBS)
dct-init_DEPS := $(CURL_DEP)
