deploy_LIBS := $(CURL_LIBS) -lyaml
deploy_DEPS := $(CURL_DEP)
