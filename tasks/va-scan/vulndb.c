/* The compiled advisory index (vulndb.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cleanup.h"
#include "digest.h"
#include "log.h"
#include "osv.h"
#include "vulndb.h"
#include "xalloc.h"

#define KEY_ENTRY_SIZE 16
#define POOL_MAX 0xffff0000u /* offsets are u32 */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The digest of the whole file but the digest's own bytes: the header's
 * fields and padding are covered as well as the body. */
#define DIGEST_AT 32
static void checksum(const unsigned char *d, size_t len, char out[DIGEST_SIZE])
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, d, DIGEST_AT);
	sha256_update(&h, d + DIGEST_AT + DIGEST_SIZE, len - DIGEST_AT - DIGEST_SIZE);
	sha256_final(&h, out);
}

/* Records are deflated one by one (a lookup inflates only the ones it
 * reads) against a preset dictionary of what trimmed records share, so a
 * record of a few hundred bytes still compresses. */
static const char record_dict[] =
	"\"vector\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}\"severity\":\"UNKNOWN\",\"score\":"
	"\"severity\":\"MEDIUM\",\"severity\":\"HIGH\",\"severity\":\"LOW\",\"severity\":\"CRITICAL\","
	"\"summary\":\"\",\"versions\":[\"\"],\"rating\":\"}]}],\"affected\":[{\"ecosystem\":\"Debian:11\",\"name\":\""
	"\"ecosystem\":\"PyPI\",\"name\":\"\"ecosystem\":\"npm\",\"name\":\"},{\"fixed\":\"\"},{\"last_affected\":\""
	"\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\""
	"{\"id\":\"GHSA-\",\"aliases\":[\"CVE-20\"],\"id\":\"PYSEC-20\"{\"id\":\"DSA-\"";
#define RECORD_MAX (64u << 20) /* inflated */

/* [u32 inflated length][deflate stream] appended to out; z is reset and
 * reused (a deflate state per record cost more in malloc/free and page
 * faults than the compression itself) */
static void deflate_record(z_stream *z, const char *text, size_t len, struct strbuf *out)
{
	if (deflateReset(z) != Z_OK ||
	    deflateSetDictionary(z, (const Bytef *)record_dict, sizeof record_dict - 1) != Z_OK)
		abort(); /* a state deflateInit made: zlib cannot fail here */
	size_t bound = deflateBound(z, len);
	sb_grow(out, 4 + bound);
	unsigned char *at = (unsigned char *)out->buf + out->len;
	put32(at, (uint32_t)len);
	z->next_in = (Bytef *)text;
	z->avail_in = (uInt)len;
	z->next_out = at + 4;
	z->avail_out = (uInt)bound;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		abort();
	out->len += 4 + z->total_out;
	out->buf[out->len] = '\0';
}

/* ---- building ---------------------------------------------------------- */

struct bkey {
	char *key; /* eco\0name */
	uint32_t key_len, rec_off, rec_len;
};

struct vulndb_builder {
	struct strbuf records;
	json_t *ids; /* id -> true */
	struct bkey *keys;
	size_t nkeys, cap, nrecords;
	z_stream z;
};

struct vulndb_builder *vulndb_builder_new(void)
{
	struct vulndb_builder *b = xcalloc(1, sizeof *b);
	b->ids = json_object();
	/* a 8 KiB window and a 4 KiB hash: a record and the dictionary fit, and
	 * deflateReset clears 4 KiB per record, not zlib's default 64 KiB (a
	 * fifth of the compression's time; the index is as small) */
	if (deflateInit2(&b->z, 6, Z_DEFLATED, 13, 4, Z_DEFAULT_STRATEGY) != Z_OK)
		abort(); /* out of memory */
	return b;
}

void vulndb_builder_free(struct vulndb_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nkeys; i++)
		free(b->keys[i].key);
	free(b->keys);
	json_decref(b->ids);
	deflateEnd(&b->z);
	sb_release(&b->records);
	free(b);
}

size_t vulndb_builder_records(const struct vulndb_builder *b)
{
	return b->nrecords;
}

err_t *vulndb_builder_add(struct vulndb_builder *b, json_t *t, const char *what)
{
	const char *id = json_string_value(json_object_get(t, "id"));
	if (json_object_get(b->ids, id)) {
		log_warn("%s: advisory %s was read before: this copy is skipped", what, id);
		return NULL;
	}
	char *text = json_dumps(t, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t len = strlen(text);
	if (b->records.len + len > POOL_MAX / 2) {
		free(text);
		return err_new(EXIT_USAGE, "%s: the advisory database is too large for one index (over %u bytes)",
			       what, POOL_MAX / 2);
	}
	uint32_t off = (uint32_t)b->records.len;
	deflate_record(&b->z, text, len, &b->records);
	free(text);
	len = b->records.len - off;
	json_object_set_new(b->ids, id, json_true());
	b->nrecords++;
	size_t first = b->nkeys, i;
	json_t *aff;
	json_array_foreach(json_object_get(t, "affected"), i, aff) {
		const char *eco = json_string_value(json_object_get(aff, "ecosystem"));
		const char *name = json_string_value(json_object_get(aff, "name"));
		_cleanup_free_ char *pkey = osv_package_key(eco, name);
		size_t base = osv_ecosystem_base_len(eco);
		struct strbuf k = STRBUF_INIT;
		sb_add(&k, eco, base);
		sb_addc(&k, '\0');
		sb_adds(&k, pkey);
		bool dup = false;
		for (size_t j = first; j < b->nkeys && !dup; j++)
			dup = b->keys[j].key_len == k.len && !memcmp(b->keys[j].key, k.buf, k.len);
		if (dup) {
			sb_release(&k);
			continue;
		}
		if (b->nkeys == b->cap) {
			b->cap = b->cap ? 2 * b->cap : 1024;
			b->keys = xrealloc(b->keys, b->cap * sizeof *b->keys);
		}
		uint32_t klen = (uint32_t)k.len;
		b->keys[b->nkeys++] = (struct bkey){ sb_detach(&k), klen, off, (uint32_t)len };
	}
	return NULL;
}

static err_t *add_record(void *ctx, json_t *trimmed, const char *what)
{
	return vulndb_builder_add(ctx, trimmed, what);
}

err_t *vulndb_builder_add_path(struct vulndb_builder *b, const char *path)
{
	struct osv_sink sink = { .record = add_record, .ctx = b };
	TRY(osv_read_path(path, &sink));
	log_info("%s: %zu advisories (%zu withdrawn ones left out)", path, sink.records, sink.withdrawn);
	return NULL;
}

static int keycmp(const void *x, const void *y, size_t xl, size_t yl)
{
	int r = memcmp(x, y, xl < yl ? xl : yl);
	return r ? r : (xl > yl) - (xl < yl);
}

static int cmp_bkey(const void *a, const void *b)
{
	const struct bkey *x = a, *y = b;
	int r = keycmp(x->key, y->key, x->key_len, y->key_len);
	return r ? r : (x->rec_off > y->rec_off) - (x->rec_off < y->rec_off);
}

void vulndb_builder_finish(struct vulndb_builder *b, struct strbuf *out)
{
	if (b->nkeys)
		qsort(b->keys, b->nkeys, sizeof *b->keys, cmp_bkey);
	size_t table = (size_t)b->nkeys * KEY_ENTRY_SIZE;
	sb_reset(out);
	sb_grow(out, VULNDB_HEADER_SIZE + table + b->records.len + 64 * b->nkeys);
	unsigned char zero[VULNDB_HEADER_SIZE] = { 0 };
	sb_add(out, zero, VULNDB_HEADER_SIZE);
	size_t table_at = out->len;
	for (size_t i = 0; i < table; i++)
		sb_addc(out, 0);
	size_t pool_at = out->len;
	if (b->records.len)
		sb_add(out, b->records.buf, b->records.len);
	for (size_t i = 0; i < b->nkeys; i++) {
		unsigned char *e = (unsigned char *)out->buf + table_at + i * KEY_ENTRY_SIZE;
		uint32_t koff = (uint32_t)(out->len - pool_at);
		sb_add(out, b->keys[i].key, b->keys[i].key_len);
		e = (unsigned char *)out->buf + table_at + i * KEY_ENTRY_SIZE; /* out may have moved */
		put32(e, koff);
		put32(e + 4, b->keys[i].key_len);
		put32(e + 8, b->keys[i].rec_off);
		put32(e + 12, b->keys[i].rec_len);
	}
	unsigned char *h = (unsigned char *)out->buf;
	memcpy(h, VULNDB_MAGIC, 8);
	put32(h + 8, VULNDB_FORMAT);
	put32(h + 12, (uint32_t)b->nrecords);
	put32(h + 16, (uint32_t)b->nkeys);
	put32(h + 20, 0);
	put64(h + 24, out->len);
	char dig[DIGEST_SIZE];
	checksum((const unsigned char *)out->buf, out->len, dig);
	memcpy(h + DIGEST_AT, dig, DIGEST_SIZE);
}

/* ---- reading ----------------------------------------------------------- */

struct vulndb {
	const unsigned char *data;
	size_t len;
	void *map; /* when mmap'ed */
	const unsigned char *table, *pool;
	size_t pool_len;
	uint32_t nkeys, nrecords;
	char *what; /* the file, for errors */
};

static err_t *corrupt(const char *what, const char *why)
{
	return err_new(EXIT_USAGE, "advisory index %s is corrupt or truncated (%s): rebuild it", what, why);
}

static err_t *check(const void *data, size_t len, const char *what, bool verify_sum, struct vulndb **out)
{
	const unsigned char *d = data;
	if (len < VULNDB_HEADER_SIZE)
		return corrupt(what, "shorter than its header");
	if (memcmp(d, VULNDB_MAGIC, 8))
		return err_new(EXIT_USAGE, "%s is not a va-scan advisory index (no %s magic)", what, VULNDB_MAGIC);
	uint32_t format = get32(d + 8);
	if (format != VULNDB_FORMAT)
		return err_new(EXIT_USAGE, "advisory index %s has format version %u, this va-scan reads %u: rebuild it",
			       what, format, VULNDB_FORMAT);
	if (get64(d + 24) != len)
		return corrupt(what, "its size is not the one its header records");
	char dig[DIGEST_SIZE];
	if (verify_sum) {
		checksum(d, len, dig);
		if (memcmp(dig, d + DIGEST_AT, DIGEST_SIZE))
			return corrupt(what, "checksum mismatch");
	}
	uint32_t nkeys = get32(d + 16);
	if ((uint64_t)nkeys * KEY_ENTRY_SIZE > len - VULNDB_HEADER_SIZE)
		return corrupt(what, "key table past the end");
	struct vulndb *db = xcalloc(1, sizeof *db);
	db->data = d;
	db->len = len;
	db->nkeys = nkeys;
	db->nrecords = get32(d + 12);
	db->table = d + VULNDB_HEADER_SIZE;
	db->pool = db->table + (size_t)nkeys * KEY_ENTRY_SIZE;
	db->pool_len = len - VULNDB_HEADER_SIZE - (size_t)nkeys * KEY_ENTRY_SIZE;
	const unsigned char *prev = NULL;
	uint32_t prev_len = 0;
	for (uint32_t i = 0; i < nkeys; i++) {
		const unsigned char *e = db->table + (size_t)i * KEY_ENTRY_SIZE;
		uint64_t ko = get32(e), kl = get32(e + 4), ro = get32(e + 8), rl = get32(e + 12);
		if (ko + kl > db->pool_len || ro + rl > db->pool_len || !kl || !rl) {
			free(db);
			return corrupt(what, "an entry points outside the file");
		}
		if (prev && keycmp(prev, db->pool + ko, prev_len, (size_t)kl) > 0) {
			free(db);
			return corrupt(what, "keys out of order");
		}
		prev = db->pool + ko, prev_len = (uint32_t)kl;
	}
	db->what = xstrdup(what);
	*out = db;
	return NULL;
}

err_t *vulndb_from_memory(const void *data, size_t len, const char *what, struct vulndb **out)
{
	return check(data, len, what, true, out);
}

/* The checksum of an index file read with read(2), not through the map:
 * page-cache pages that are only hashed do not count in the scan's RSS. */
static err_t *checksum_fd(int fd, size_t len, const char *path, char out[DIGEST_SIZE], unsigned char *stored)
{
	struct sha256 h;
	sha256_init(&h);
	unsigned char *buf = xmalloc(1 << 16);
	size_t at = 0;
	err_t *e = NULL;
	while (!e && at < len) {
		ssize_t n = pread(fd, buf, len - at < (1 << 16) ? len - at : (1 << 16), (off_t)at);
		if (n <= 0) {
			e = n < 0 ? err_errno(EXIT_USAGE, "cannot read advisory index %s", path)
				  : corrupt(path, "shorter than its header records");
			break;
		}
		for (size_t i = 0; i < (size_t)n; i++) /* the digest's own bytes are not hashed */
			if (at + i >= DIGEST_AT && at + i < DIGEST_AT + DIGEST_SIZE)
				stored[at + i - DIGEST_AT] = buf[i];
		size_t lo = at, hi = at + (size_t)n;
		if (hi <= DIGEST_AT || lo >= DIGEST_AT + DIGEST_SIZE) {
			sha256_update(&h, buf, (size_t)n);
		} else {
			if (lo < DIGEST_AT)
				sha256_update(&h, buf, DIGEST_AT - lo);
			if (hi > DIGEST_AT + DIGEST_SIZE)
				sha256_update(&h, buf + (DIGEST_AT + DIGEST_SIZE - lo), hi - (DIGEST_AT + DIGEST_SIZE));
		}
		at = hi;
	}
	free(buf);
	if (e) {
		sha256_discard(&h);
		return e;
	}
	sha256_final(&h, out);
	return NULL;
}

bool vulndb_is_index(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char magic[8];
	bool yes = read(fd, magic, sizeof magic) == (ssize_t)sizeof magic && !memcmp(magic, VULNDB_MAGIC, 8);
	close(fd);
	return yes;
}

err_t *vulndb_open(const char *path, struct vulndb **out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_USAGE, "cannot open advisory index %s", path);
	struct stat st;
	if (fstat(fd, &st))
		return err_errno(EXIT_USAGE, "advisory index %s", path);
	if (!S_ISREG(st.st_mode) || st.st_size < VULNDB_HEADER_SIZE)
		return corrupt(path, "shorter than its header");
	/* the header's verdicts first: they say more than a checksum mismatch */
	unsigned char h[VULNDB_HEADER_SIZE];
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h)
		return corrupt(path, "shorter than its header");
	if (memcmp(h, VULNDB_MAGIC, 8))
		return err_new(EXIT_USAGE, "%s is not a va-scan advisory index (no %s magic)", path, VULNDB_MAGIC);
	if (get32(h + 8) != VULNDB_FORMAT)
		return err_new(EXIT_USAGE, "advisory index %s has format version %u, this va-scan reads %u: rebuild it",
			       path, get32(h + 8), VULNDB_FORMAT);
	if (get64(h + 24) != (uint64_t)st.st_size)
		return corrupt(path, "its size is not the one its header records");
	char dig[DIGEST_SIZE];
	unsigned char stored[DIGEST_SIZE];
	TRY(checksum_fd(fd, (size_t)st.st_size, path, dig, stored));
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return err_errno(EXIT_FAILED, "cannot map advisory index %s", path);
	err_t *e = NULL;
	if (memcmp(dig, stored, DIGEST_SIZE) || memcmp(dig, (const unsigned char *)map + DIGEST_AT, DIGEST_SIZE))
		e = corrupt(path, "checksum mismatch");
	if (!e)
		e = check(map, (size_t)st.st_size, path, false, out);
	if (e) {
		munmap(map, (size_t)st.st_size);
		return e;
	}
	(*out)->map = map;
	return NULL;
}

void vulndb_close(struct vulndb *db)
{
	if (!db)
		return;
	if (db->map)
		munmap(db->map, db->len);
	free(db->what);
	free(db);
}

size_t vulndb_records(const struct vulndb *db)
{
	return db->nrecords;
}

static int entry_cmp(const struct vulndb *db, uint32_t i, const char *key, size_t klen)
{
	const unsigned char *e = db->table + (size_t)i * KEY_ENTRY_SIZE;
	return keycmp(db->pool + get32(e), key, get32(e + 4), klen);
}

static err_t *inflate_record(const struct vulndb *db, const unsigned char *rec, size_t len, char **out,
			     size_t *out_len)
{
	if (len < 4)
		return corrupt(db->what, "a record shorter than its length");
	uint32_t raw = get32(rec);
	if (raw > RECORD_MAX)
		return corrupt(db->what, "a record longer than any");
	char *text = xmalloc((size_t)raw + 1);
	z_stream z = { 0 };
	int r = inflateInit(&z);
	z.next_in = (Bytef *)rec + 4;
	z.avail_in = (uInt)(len - 4);
	z.next_out = (Bytef *)text;
	z.avail_out = raw;
	if (r == Z_OK)
		r = inflate(&z, Z_FINISH);
	if (r == Z_NEED_DICT) {
		r = inflateSetDictionary(&z, (const Bytef *)record_dict, sizeof record_dict - 1);
		if (r == Z_OK)
			r = inflate(&z, Z_FINISH);
	}
	bool ok = r == Z_STREAM_END && z.total_out == raw && z.avail_in == 0;
	inflateEnd(&z);
	if (!ok) {
		free(text);
		return corrupt(db->what, "a record does not inflate");
	}
	text[raw] = '\0';
	*out = text;
	*out_len = raw;
	return NULL;
}

err_t *vulndb_lookup(const struct vulndb *db, const char *ecosystem, const char *name, vulndb_record_fn fn,
		     void *ctx)
{
	_cleanup_free_ char *pkey = osv_package_key(ecosystem, name);
	struct strbuf k = STRBUF_INIT;
	sb_add(&k, ecosystem, osv_ecosystem_base_len(ecosystem));
	sb_addc(&k, '\0');
	sb_adds(&k, pkey);
	uint32_t lo = 0, hi = db->nkeys;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (entry_cmp(db, mid, k.buf, k.len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	err_t *e = NULL;
	for (uint32_t i = lo; !e && i < db->nkeys && !entry_cmp(db, i, k.buf, k.len); i++) {
		const unsigned char *ent = db->table + (size_t)i * KEY_ENTRY_SIZE;
		char *text = NULL;
		size_t len = 0;
		e = inflate_record(db, db->pool + get32(ent + 8), get32(ent + 12), &text, &len);
		if (!e)
			e = fn(ctx, text, len);
		free(text);
	}
	sb_release(&k);
	return e;
}
