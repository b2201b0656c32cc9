/* SPDX-License-Identifier: MIT */
/*
 * debuginfo.c - where a module's separate debug information is looked for.
 *
 * libdwfl's standard callbacks (dwfl_build_id_find_elf,
 * dwfl_standard_find_debuginfo) end by asking a debuginfod server: they
 * dlopen libdebuginfod (and with it libcurl, an SSL library, ...), and with
 * DEBUGINFOD_URLS set they contact the network and fill a cache under
 * $HOME.  These replace them with the local places alone, in the order GDB
 * and libdwfl use:
 *
 *   /usr/lib/debug/.build-id/xx/rest.debug          (the build-id)
 *   DIR/LINK, DIR/.debug/LINK, /usr/lib/debug/DIR/LINK  (.gnu_debuglink)
 *
 * A candidate is used only if its build-id is the module's (or, for a
 * module without one, if its CRC is the one .gnu_debuglink records).  The
 * dwz "alternate" file (.gnu_debugaltlink) is found the same way, checked
 * against the build-id its link records.
 */
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolizer.h"

#define DEBUG_ROOT "/usr/lib/debug"

struct dbg_ctx {
	char *main_path;
	char *debug_path; /* the separate file found, if any */
};

static int
no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
	    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)elfp;
	return -1; /* modules are reported with their file: never called */
}

static ssize_t
elf_build_id_of(Elf *elf, const void **id)
{
	return elf ? dwelf_elf_gnu_build_id(elf, id) : -1;
}

/* The standard CRC-32 (.gnu_debuglink's checksum) of a whole file. */
static bool
file_crc32(int fd, uint32_t *out)
{
	static uint32_t table[256];
	uint32_t crc = 0xffffffffu;
	unsigned char buf[65536];
	off_t off = 0;
	ssize_t n;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
		off += n;
	}
	*out = crc ^ 0xffffffffu;
	return n == 0;
}

/* Open path if it is the file wanted: the same build-id as id (when
 * idlen > 0), else the same CRC as crc.  Returns the descriptor or -1. */
static int
open_checked(const char *path, const void *id, size_t idlen, bool check_crc,
	     uint32_t crc, const struct stat *not_this)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (not_this && fstat(fd, &st) == 0 && st.st_dev == not_this->st_dev &&
	    st.st_ino == not_this->st_ino)
		goto reject; /* a debuglink naming the file itself */
	bool ok = false;
	if (idlen > 0) {
		Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		const void *cid;
		ssize_t clen = elf_build_id_of(elf, &cid);
		ok = clen == (ssize_t)idlen && !memcmp(cid, id, idlen);
		elf_end(elf);
	} else if (check_crc) {
		uint32_t c;
		ok = file_crc32(fd, &c) && c == crc;
	}
	if (ok)
		return fd;
reject:
	close(fd);
	return -1;
}

static int
found(struct dbg_ctx *c, int fd, const char *path, char **out_name, bool alt)
{
	*out_name = strdup(path);
	if (!alt && c) {
		free(c->debug_path);
		c->debug_path = strdup(path);
	}
	return fd;
}

static int
by_build_id(const unsigned char *id, size_t idlen, char *path, size_t cap)
{
	if (idlen < 2)
		return -1;
	size_t n = (size_t)snprintf(path, cap, DEBUG_ROOT "/.build-id/%02x/", id[0]);
	for (size_t i = 1; i < idlen && n + 3 < cap; i++)
		n += (size_t)snprintf(path + n, cap - n, "%02x", id[i]);
	if (n + 7 >= cap)
		return -1;
	memcpy(path + n, ".debug", 7);
	return open_checked(path, id, idlen, false, 0, NULL);
}

/* The dwz alternate file of the file at path: its name and build-id. */
static bool
read_altlink(const char *path, char *name, size_t cap, unsigned char *id, size_t *idlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t shstrndx;
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh))
				continue;
			const char *sname = elf_strptr(elf, shstrndx, sh.sh_name);
			if (!sname || strcmp(sname, ".gnu_debugaltlink"))
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			if (!d || !d->d_buf)
				break;
			const char *s = d->d_buf;
			size_t len = strnlen(s, d->d_size);
			if (len >= d->d_size || len >= cap)
				break;
			size_t n = d->d_size - len - 1;
			if (n == 0 || n > LPSYM_MAX_BUILD_ID)
				break;
			memcpy(name, s, len + 1);
			memcpy(id, s + len + 1, n);
			*idlen = n;
			ok = true;
			break;
		}
	}
	elf_end(elf);
	close(fd);
	return ok;
}

static void
dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= cap)
		n = 0;
	memcpy(dir, path, n);
	dir[n] = 0;
}

static int
find_alt(struct dbg_ctx *c, const char *link, char **out_name)
{
	char name[LPSYM_MAX_PATH], path[LPSYM_MAX_PATH], dir[LPSYM_MAX_PATH];
	unsigned char id[LPSYM_MAX_BUILD_ID];
	size_t idlen = 0;
	const char *holder = c->debug_path ? c->debug_path : c->main_path;
	int fd;

	if (!read_altlink(holder, name, sizeof(name), id, &idlen) || strcmp(name, link))
		return -1;
	if (link[0] == '/')
		fd = open_checked(link, id, idlen, false, 0, NULL);
	else {
		dir_of(holder, dir, sizeof(dir));
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, link) >= sizeof(path))
			return -1;
		fd = open_checked(path, id, idlen, false, 0, NULL);
	}
	if (fd >= 0)
		return found(c, fd, link[0] == '/' ? link : path, out_name, true);
	fd = by_build_id(id, idlen, path, sizeof(path));
	return fd >= 0 ? found(c, fd, path, out_name, true) : -1;
}

static int
find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
	       Dwarf_Addr base, const char *file_name, const char *link,
	       GElf_Word crc, char **out_name)
{
	struct dbg_ctx *c = userdata ? *userdata : NULL;
	const unsigned char *id = NULL;
	GElf_Addr id_vaddr;
	int idlen = dwfl_module_build_id(mod, &id, &id_vaddr);
	char path[LPSYM_MAX_PATH], dir[LPSYM_MAX_PATH];
	struct stat self;
	int fd;
	(void)modname, (void)base;

	if (!c || !c->main_path)
		return -1;
	*out_name = NULL;
	/* The dwz alternate file is asked for through this callback too, once
	 * the DWARF that links to it is loaded. */
	if (link && (fd = find_alt(c, link, out_name)) >= 0)
		return fd;
	if (idlen < 0)
		idlen = 0;
	fd = by_build_id(id, (size_t)idlen, path, sizeof(path));
	if (fd >= 0)
		return found(c, fd, path, out_name, false);
	if (!link || !link[0] || strchr(link, '/'))
		return -1;
	if (!file_name)
		file_name = c->main_path;
	dir_of(file_name, dir, sizeof(dir));
	if (stat(file_name, &self) != 0)
		return -1;
	const char *forms[] = { "%s/%s", "%s/.debug/%s", DEBUG_ROOT "%s/%s" };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), forms[i], dir, link) >= sizeof(path))
			continue;
		fd = open_checked(path, id, (size_t)idlen, true, crc, &self);
		if (fd >= 0)
			return found(c, fd, path, out_name, false);
	}
	return -1;
}

const Dwfl_Callbacks sym_dwfl_callbacks = {
	.find_elf = no_find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

void
sym_debuginfo_attach(Dwfl_Module *dm, const char *path)
{
	void **slot = NULL;
	struct dbg_ctx *c = calloc(1, sizeof(*c));

	if (!c || !dwfl_module_info(dm, &slot, NULL, NULL, NULL, NULL, NULL, NULL) || !slot) {
		free(c);
		return;
	}
	c->main_path = strdup(path);
	*slot = c;
}

void
sym_debuginfo_detach(Dwfl_Module *dm)
{
	void **slot = NULL;
	if (!dwfl_module_info(dm, &slot, NULL, NULL, NULL, NULL, NULL, NULL) || !slot || !*slot)
		return;
	struct dbg_ctx *c = *slot;
	free(c->main_path);
	free(c->debug_path);
	free(c);
	*slot = NULL;
}
