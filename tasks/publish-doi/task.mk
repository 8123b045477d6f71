publish-doi_LIBS := $(CURL_LIBS)
publish-doi_DEPS := $(CURL_DEP)
