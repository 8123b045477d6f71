/* libFuzzer target for layer apply, the security-critical path: any bytes
 * (plain, gzip or zstd tar) are applied to a scratch root inside a
 * sandbox directory; afterwards the sandbox must hold nothing but the
 * root and an untouched sentinel, whatever the layer did. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer.h"
#include "log.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *sandbox, *root, *sentinel;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void teardown(void)
{
	nftw(sandbox, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	char tmpl[] = "/tmp/fuzz-layer-XXXXXX";
	sandbox = xstrdup(mkdtemp(tmpl));
	root = xasprintf("%s/root", sandbox);
	sentinel = xasprintf("%s/sentinel", sandbox);
	FILE *f = fopen(sentinel, "w");
	fputs("untouched", f);
	fclose(f);
	log_setup("fuzz_layer", LOG_HUMAN, LOG_ERROR);
	atexit(teardown);
}

static void check_sandbox(void)
{
	DIR *d = opendir(sandbox);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "root") ||
		    !strcmp(de->d_name, "sentinel"))
			continue;
		fprintf(stderr, "layer escaped the root: %s/%s\n", sandbox, de->d_name);
		abort();
	}
	closedir(d);
	char buf[32] = { 0 };
	int fd = open(sentinel, O_RDONLY | O_NOFOLLOW);
	if (fd < 0 || read(fd, buf, sizeof buf - 1) != 9 || strcmp(buf, "untouched")) {
		fprintf(stderr, "layer changed the sentinel outside the root\n");
		abort();
	}
	close(fd);
	struct stat st;
	if (lstat(sentinel, &st) != 0 || st.st_nlink != 1) {
		fprintf(stderr, "layer hardlinked the sentinel\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sandbox)
		setup();
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(root, 0755);
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	struct layer_apply_options o = { .devices = LAYER_DEVICES_SKIP };
	struct layer_apply_stats st;
	err_free(layer_apply(root, fd, &o, &st));
	close(fd);
	check_sandbox();
	return 0;
}
