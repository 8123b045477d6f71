verify-signatures_LIBS := $(CURL_LIBS)
verify-signatures_DEPS := $(CURL_DEP)
