/* SPDX-License-Identifier: MIT */
/*
 * report_stream.h - where reports without LEAKPROBE_OUTPUT and our
 * warnings go: stderr as it was when the shim started.
 *
 *  - Closed at start-up (2>&-): nothing of ours is ever written, so a file
 *    the program opens next on descriptor 2 never gets our lines.
 *  - Written to fd 2 while it is still that same file (device and inode).
 *  - A program that closes it (close(2), fclose(stderr): coreutils do
 *    before they exit) first gets a private copy made by us (close-on-exec,
 *    at a high number), which the exit report then uses.  Made only then:
 *    a program that lists its descriptors sees the same ones as without
 *    the shim.
 *  - A program that dup2()s another file onto 2 moves the stream there,
 *    and our copy, if any, is closed (a parent reading the old pipe to its
 *    end must see it end).
 */
#pragma once

#include "core/base.h"

void lp_report_stream_init(void) LP_HIDDEN;
/* The descriptor to write the stream to, or -1 when it is gone. */
int lp_report_stream(void) LP_HIDDEN;
/* In a forked child: the stream is its own (a vfork child's is not). */
void lp_report_stream_after_fork_child(void) LP_HIDDEN;
/* The program is about to close fd (close, fclose). */
void lp_report_stream_closing(int fd) LP_HIDDEN;
/* The program made newfd a copy of another descriptor (dup2/dup3). */
void lp_report_stream_dup2(int newfd) LP_HIDDEN;

