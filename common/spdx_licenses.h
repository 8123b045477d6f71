/* SPDX license identifiers (the list CycloneDX's schema takes ids from). */
#ifndef COMMON_SPDX_LICENSES_H
#define COMMON_SPDX_LICENSES_H

/* The canonical spelling of a license or exception id ("mit" -> "MIT"),
 * or NULL when s is not one. */
const char *spdx_license_id(const char *s);

#endif
