/* SPDX-License-Identifier: MIT */
/* two_sites.S - fu_two_sites(cb, which) calls cb from one of two call
 * sites with the same stack pointer: site 0 under a plain CFI row
 * (CFA = rsp + 16), site 1 under the same CFA written as a DWARF
 * expression, which lp_fast_unwind does not follow.  A walk through
 * site 1 meets the memo of a walk through site 0 at the very same states,
 * replays it in place, then gives up: the memo must not survive that. */
	.text
	.globl	fu_two_sites
	.type	fu_two_sites, @function
fu_two_sites:
	.cfi_startproc
	subq	$8, %rsp
	.cfi_def_cfa_offset 16
	testl	%esi, %esi
	jne	1f
	call	*%rdi
	jmp	2f
1:
	.cfi_remember_state
	/* DW_CFA_def_cfa_expression { DW_OP_breg7 (rsp) 16 } */
	.cfi_escape 0x0f, 0x02, 0x77, 0x10
	call	*%rdi
	.cfi_restore_state
2:
	addq	$8, %rsp
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size	fu_two_sites, .-fu_two_sites
	.section	.note.GNU-stack,"",@progbits
