# The registry / image foundation in common/ (http, registry, layer, ...)
# links libcurl (mk/curl.mk), OpenSSL, libarchive and the compressors.
#
# For tasks' task.mk that use it:
#   <task>_LIBS := $(IMAGE_LIBS)
#   <task>_DEPS := $(IMAGE_DEPS)
# Debian's libarchive.a is used as is: we only use its tar reader and pax
# writer (never archive_write_disk / read_disk, nor its filters), so none of
# its ACL, lz4, xml2 or nettle objects are pulled into a static link.
# liblzma and libbz2 are common/compress's own (ADD of .tar.xz / .tar.bz2).
IMAGE_LIBS := -larchive $(CURL_LIBS) -lzstd -llzma -lbz2 -lz -lpthread
IMAGE_DEPS := $(CURL_DEP)

# unit tests and fuzz targets link every common module
$(BUILD)/fuzz/%: COMMON_LIBS += $(IMAGE_LIBS)
$(BUILD)/asan/tests/%: COMMON_LIBS += $(IMAGE_LIBS)
