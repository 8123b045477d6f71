# va-scan reads OSV zips (libarchive; its zip reader brings the WinZip AES
# decryption code, hence nettle in a static link), images through
# common/inventory (mk/image.mk), ignore files (libyaml); CVSS needs libm.
va-scan_LIBS := -lyaml $(IMAGE_LIBS) -lnettle -lm
va-scan_DEPS := $(IMAGE_DEPS)
