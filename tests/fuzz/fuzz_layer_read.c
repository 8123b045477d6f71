/* Fuzz common/layer's streaming reader (layer_read), through which bom and
 * va-scan read image layers without unpacking them: any bytes (plain,
 * gzip or zstd tar). Each entry must be what layer.h promises: its path
 * (a whiteout's victim and an opaque directory too) and a hardlink's
 * target relative, cleaned and never empty (no "", ".", ".." component,
 * no leading or doubled "/"), a symlink with a target; file data reads to
 * its end. No crash, no leak. Seeds: tests/fuzz/corpus/layer_read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layer.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	if (!p || !*p || *p == '/')
		abort();
	for (const char *c = p;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			abort();
		if (!slash)
			return;
		c = slash + 1;
	}
}

static err_t *entry(const struct layer_read_entry *e, struct layer_reader *r, void *ctx)
{
	(void)ctx;
	check_path(e->path);
	if (e->kind == LAYER_READ_HARDLINK)
		check_path(e->link);
	if (e->kind == LAYER_READ_SYMLINK && (!e->link || !*e->link))
		abort();
	if (e->kind != LAYER_READ_FILE)
		return NULL;
	char buf[4096];
	size_t got;
	do {
		err_t *x = layer_read_data(r, buf, sizeof buf, &got);
		if (x)
			return x;
	} while (got);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet++)
		log_setup("fuzz_layer_read", LOG_HUMAN, LOG_ERROR);
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	struct layer_apply_stats st;
	err_free(layer_read(fd, entry, NULL, &st));
	close(fd);
	return 0;
}
