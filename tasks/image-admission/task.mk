image-admission_LIBS := $(CURL_LIBS)
image-admission_DEPS := $(CURL_DEP)
