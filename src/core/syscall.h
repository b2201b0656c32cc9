/* SPDX-License-Identifier: MIT */
/* syscall.h - system calls the shim makes for itself, past its own
 * interposers. */
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include "core/base.h"

/* Close a descriptor of the shim's own (interpose/fd.c watches the
 * program's closes only). */
static inline int
lp_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}
