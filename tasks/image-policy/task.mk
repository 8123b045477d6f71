image-policy_LIBS := -lyaml $(CURL_LIBS)
image-policy_DEPS := $(CURL_DEP)
