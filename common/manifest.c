/* OCI / Docker manifest and index model (see manifest.h). */
#include "manifest.h"

#include <string.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "jsonutil.h"
#include "xalloc.h"

void descriptor_release(struct descriptor *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->os);
	free(d->architecture);
	free(d->variant);
	json_decref(d->annotations);
	memset(d, 0, sizeof *d);
}

void descriptor_copy(struct descriptor *dst, const struct descriptor *src)
{
	memset(dst, 0, sizeof *dst);
	dst->media_type = src->media_type ? xstrdup(src->media_type) : NULL;
	memcpy(dst->digest, src->digest, DIGEST_SIZE);
	dst->size = src->size;
	dst->os = src->os ? xstrdup(src->os) : NULL;
	dst->architecture = src->architecture ? xstrdup(src->architecture) : NULL;
	dst->variant = src->variant ? xstrdup(src->variant) : NULL;
	dst->annotations = json_incref(src->annotations);
}

bool manifest_type_is_index(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

bool manifest_type_is_image(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST));
}

static const char *opt_string(const json_t *o, const char *key, const char *what, err_t **e)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*e = err_new(EXIT_FAILED, "%s.%s: not a string", what, key);
		return NULL;
	}
	return json_string_value(v);
}

static err_t *parse_descriptor(const json_t *o, const char *what, bool with_platform, struct descriptor *d)
{
	memset(d, 0, sizeof *d);
	if (!json_is_object(o))
		return err_new(EXIT_FAILED, "%s: not an object", what);
	const char *mt = NULL, *dg = NULL;
	err_t *e = json_get_string(o, "mediaType", what, &mt);
	if (!e)
		e = json_get_string(o, "digest", what, &dg);
	if (e)
		return err_set_code(e, EXIT_FAILED);
	if (strlen(mt) > 255)
		return err_new(EXIT_FAILED, "%s.mediaType: too long", what);
	err_t *de = digest_check(dg, what);
	if (de)
		return err_set_code(de, EXIT_FAILED);
	json_t *sz = json_object_get(o, "size");
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return err_new(EXIT_FAILED, "%s.size: missing or not a non-negative integer", what);
	json_t *ann = json_object_get(o, "annotations");
	if (ann && !json_is_null(ann)) {
		if (!json_is_object(ann))
			return err_new(EXIT_FAILED, "%s.annotations: not an object", what);
		const char *k;
		json_t *v;
		json_object_foreach(ann, k, v) if (!json_is_string(v)) return err_new(
			EXIT_FAILED, "%s.annotations.%.100s: not a string", what, k);
	}
	d->media_type = xstrdup(mt);
	memcpy(d->digest, dg, DIGEST_SIZE);
	d->size = json_integer_value(sz);
	d->annotations = ann && json_is_object(ann) ? json_incref(ann) : NULL;
	if (with_platform) {
		json_t *pl = json_object_get(o, "platform");
		if (pl && !json_is_null(pl)) {
			_cleanup_free_ char *pw = xasprintf("%s.platform", what);
			if (!json_is_object(pl)) {
				descriptor_release(d);
				return err_new(EXIT_FAILED, "%s: not an object", pw);
			}
			e = NULL;
			const char *os = opt_string(pl, "os", pw, &e);
			const char *arch = e ? NULL : opt_string(pl, "architecture", pw, &e);
			const char *var = e ? NULL : opt_string(pl, "variant", pw, &e);
			if (e) {
				descriptor_release(d);
				return e;
			}
			d->os = os ? xstrdup(os) : NULL;
			d->architecture = arch ? xstrdup(arch) : NULL;
			d->variant = var ? xstrdup(var) : NULL;
		}
	}
	return NULL;
}

static err_t *parse_list(const json_t *doc, const char *key, bool with_platform, struct descriptor **out,
			 size_t *n)
{
	json_t *arr = json_object_get(doc, key);
	if (!json_is_array(arr))
		return err_new(EXIT_FAILED, "manifest: \"%s\" missing or not an array", key);
	size_t count = json_array_size(arr);
	*out = count ? xcalloc(count, sizeof **out) : NULL;
	*n = 0;
	for (size_t i = 0; i < count; i++) {
		char what[64];
		snprintf(what, sizeof what, "manifest: %s[%zu]", key, i);
		TRY(parse_descriptor(json_array_get(arr, i), what, with_platform, &(*out)[i]));
		(*n)++;
	}
	return NULL;
}

err_t *manifest_parse(const void *body, size_t len, const char *content_type, struct manifest *out)
{
	memset(out, 0, sizeof *out);
	if (len > MANIFEST_MAX_SIZE)
		return err_new(EXIT_FAILED, "manifest is %zu bytes, more than the %u allowed", len, MANIFEST_MAX_SIZE);
	json_t *doc = NULL;
	err_t *e = json_parse(body, len, "manifest", &doc);
	if (e)
		return err_set_code(e, EXIT_FAILED);
	out->json = doc;
	if (!json_is_object(doc)) {
		manifest_release(out);
		return err_new(EXIT_FAILED, "manifest: not a JSON object");
	}
	json_t *sv = json_object_get(doc, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
		bool v1 = json_is_integer(sv) && json_integer_value(sv) == 1;
		manifest_release(out);
		if (v1)
			return err_new(EXIT_FAILED, "manifest: Docker schema 1 manifests are not supported");
		return err_new(EXIT_FAILED, "manifest: schemaVersion must be 2");
	}
	e = NULL;
	const char *doc_mt = opt_string(doc, "mediaType", "manifest", &e);
	if (e) {
		manifest_release(out);
		return e;
	}
	/* strip parameters from a Content-Type ("...; charset=utf-8") */
	_cleanup_free_ char *hint = NULL;
	if (content_type && *content_type) {
		hint = xstrndup(content_type, strcspn(content_type, "; "));
	}
	const char *mt = doc_mt ? doc_mt : hint;
	bool is_index;
	if (manifest_type_is_index(mt))
		is_index = true;
	else if (manifest_type_is_image(mt))
		is_index = false;
	else if (mt && (!hint || !strcmp(mt, hint)) && strcmp(mt, "application/json") &&
		 strcmp(mt, "application/octet-stream")) {
		/* artifacts: an OCI manifest with another mediaType field is still
		 * an image-shaped manifest; anything else is unknown */
		if (json_object_get(doc, "manifests"))
			is_index = true;
		else if (json_object_get(doc, "config") && json_object_get(doc, "layers"))
			is_index = false;
		else {
			err_t *te = err_new(EXIT_FAILED, "manifest: unsupported media type \"%.100s\"", mt);
			manifest_release(out);
			return te;
		}
	} else {
		is_index = json_object_get(doc, "manifests") != NULL;
		mt = is_index ? MT_OCI_INDEX : MT_OCI_MANIFEST;
	}
	out->media_type = xstrdup(mt);
	out->kind = is_index ? MANIFEST_INDEX : MANIFEST_IMAGE;
	if (is_index) {
		e = parse_list(doc, "manifests", true, &out->manifests, &out->n_manifests);
	} else {
		e = parse_descriptor(json_object_get(doc, "config"), "manifest: config", false, &out->config);
		if (!e)
			e = parse_list(doc, "layers", false, &out->layers, &out->n_layers);
	}
	if (e) {
		manifest_release(out);
		return e;
	}
	return NULL;
}

void manifest_release(struct manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		descriptor_release(&m->manifests[i]);
	free(m->manifests);
	json_decref(m->json);
	memset(m, 0, sizeof *m);
}

static void host_platform(char *os, size_t osn, char *arch, size_t archn, char *variant, size_t varn)
{
	struct utsname u;
	snprintf(os, osn, "linux");
	variant[0] = '\0';
	const char *m = uname(&u) == 0 ? u.machine : "x86_64";
	if (!strcmp(m, "x86_64"))
		snprintf(arch, archn, "amd64");
	else if (!strcmp(m, "aarch64")) {
		snprintf(arch, archn, "arm64");
		snprintf(variant, varn, "v8");
	} else if (!strncmp(m, "armv7", 5)) {
		snprintf(arch, archn, "arm");
		snprintf(variant, varn, "v7");
	} else if (!strcmp(m, "i686") || !strcmp(m, "i386"))
		snprintf(arch, archn, "386");
	else
		snprintf(arch, archn, "%s", m);
}

err_t *manifest_select_platform(const struct manifest *index, const char *platform, const struct descriptor **out)
{
	char os[80], arch[80], variant[80];
	if (platform && *platform) {
		const char *s1 = strchr(platform, '/');
		if (!s1 || s1 == platform || !s1[1])
			return err_new(EXIT_USAGE, "platform \"%.100s\" is not os/arch[/variant]", platform);
		const char *s2 = strchr(s1 + 1, '/');
		snprintf(os, sizeof os, "%.*s", (int)(s1 - platform), platform);
		snprintf(arch, sizeof arch, "%.*s", (int)(s2 ? s2 - s1 - 1 : (long)strlen(s1 + 1)), s1 + 1);
		snprintf(variant, sizeof variant, "%s", s2 ? s2 + 1 : "");
	} else {
		host_platform(os, sizeof os, arch, sizeof arch, variant, sizeof variant);
	}
	const struct descriptor *exact = NULL, *loose = NULL;
	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct descriptor *d = &index->manifests[i];
		if (!d->os || !d->architecture || strcmp(d->os, os) || strcmp(d->architecture, arch))
			continue;
		if (!manifest_type_is_image(d->media_type) && !manifest_type_is_index(d->media_type))
			continue;
		if (d->variant && *variant && !strcmp(d->variant, variant)) {
			exact = exact ? exact : d;
		} else if (!d->variant || !*d->variant || (!*variant && !strcmp(arch, "arm64") &&
							   !strcmp(d->variant, "v8"))) {
			loose = loose ? loose : d;
		}
	}
	if (!*variant && !exact)
		exact = loose;
	*out = exact ? exact : loose;
	if (*out)
		return NULL;
	struct strbuf have = STRBUF_INIT;
	for (size_t i = 0; i < index->n_manifests && i < 20; i++) {
		const struct descriptor *d = &index->manifests[i];
		sb_addf(&have, "%s%s/%s%s%s", i ? ", " : "", d->os ? d->os : "?", d->architecture ? d->architecture : "?",
			d->variant ? "/" : "", d->variant ? d->variant : "");
	}
	err_t *e = err_new(EXIT_FAILED, "no image for platform %s/%s%s%s in the index (it has: %s)", os, arch,
			   *variant ? "/" : "", variant, have.len ? sb_str(&have) : "nothing");
	sb_release(&have);
	return e;
}

json_t *descriptor_json(const struct descriptor *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "mediaType", json_string(d->media_type));
	json_object_set_new(o, "digest", json_string(d->digest));
	json_object_set_new(o, "size", json_integer(d->size));
	if (d->annotations && json_object_size(d->annotations))
		json_object_set(o, "annotations", d->annotations);
	if (d->os || d->architecture) {
		json_t *p = json_object();
		json_object_set_new(p, "architecture", json_string(d->architecture ? d->architecture : ""));
		json_object_set_new(p, "os", json_string(d->os ? d->os : ""));
		if (d->variant)
			json_object_set_new(p, "variant", json_string(d->variant));
		json_object_set_new(o, "platform", p);
	}
	return o;
}

void manifest_dump(const json_t *doc, struct strbuf *out)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s) {
		sb_adds(out, s);
		free(s);
	}
}

json_t *manifest_build_image(const char *media_type, const struct descriptor *config,
			     const struct descriptor *layers, size_t n_layers, json_t *annotations)
{
	json_t *o = json_object();
	json_object_set_new(o, "schemaVersion", json_integer(2));
	json_object_set_new(o, "mediaType", json_string(media_type));
	json_object_set_new(o, "config", descriptor_json(config));
	json_t *arr = json_array();
	for (size_t i = 0; i < n_layers; i++)
		json_array_append_new(arr, descriptor_json(&layers[i]));
	json_object_set_new(o, "layers", arr);
	if (annotations && json_object_size(annotations))
		json_object_set(o, "annotations", annotations);
	json_decref(annotations);
	return o;
}
