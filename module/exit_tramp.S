/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exit_tramp.S: run the exit hook's unwinding in process context, then go on
 * with do_exit() (hooks.c says why).
 *
 * The do_exit kprobe is an ftrace-based probe at do_exit()'s fentry call.
 * Its handler, for a task that must unwind hops, points the saved instruction
 * pointer here instead; the ftrace trampoline then "returns" into
 * hop_exit_trampoline with do_exit()'s own entry state: its caller's return
 * address on top of the stack and its argument, the exit code, in %rdi.  It
 * calls hop_exit_unwind() (preemptible, interrupts on), restores %rdi and
 * returns into do_exit() just past the fentry call (hop_do_exit_resume), the
 * same place the probe would have let it continue from.
 *
 * A return, not a jump: an indirect jump to the middle of do_exit() would
 * need an ENDBR there under IBT; a return does not.
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/unwind_hints.h>

	.text
SYM_CODE_START(hop_exit_trampoline)
	/* Entered by a return (from the ftrace trampoline), never by a call. */
	ANNOTATE_NOENDBR
	UNWIND_HINT_FUNC
	pushq	%rdi
	call	hop_exit_unwind
	popq	%rdi
	pushq	hop_do_exit_resume(%rip)
	/* The stack is do_exit()'s entry stack again, plus its resume point. */
	UNWIND_HINT_FUNC
	RET
SYM_CODE_END(hop_exit_trampoline)

/*
 * Where a kprobe that refuses a call sends the probed function
 * (hop_kprobe_return(): policy.c, guards.c): entered by the ftrace trampoline's return with the
 * function's entry stack and %rax already the result, it returns that to
 * the function's caller at once.  What bpf_override_return() does with the
 * kernel's just_return_func, which is not exported.
 */
SYM_CODE_START(hop_override_return)
	ANNOTATE_NOENDBR
	UNWIND_HINT_FUNC
	RET
SYM_CODE_END(hop_override_return)
