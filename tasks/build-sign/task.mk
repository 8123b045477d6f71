build-sign_LIBS := $(CURL_LIBS)
build-sign_DEPS := $(CURL_DEP)
