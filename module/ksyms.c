// SPDX-License-Identifier: GPL-2.0
/*
 * ksyms.c: what hop takes from the kernel beyond its exports.  The few
 * kernel functions hop needs that are not exported, looked up once at load
 * through kallsyms_lookup_name (itself found with a kprobe); a missing
 * symbol makes the load fail with a message naming it.  And the
 * registration of the probe arrays of guards.c, policy.c and oom.c.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/printk.h>
#include <asm/ibt.h>
#include "hop_internal.h"

struct hop_ksyms hop_ksyms;

typedef unsigned long (*kallsyms_lookup_name_t)(const char *name);

static unsigned long hop_find_kallsyms_lookup_name(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long addr;

	/*
	 * register_kprobe() resolves the address before it checks whether the
	 * target may be probed, so kp.addr is filled in even when it refuses.
	 */
	if (!register_kprobe(&kp))
		unregister_kprobe(&kp);
	addr = (unsigned long)kp.addr;
	if (!addr)
		return 0;
	/* With IBT the probe sits after the ENDBR (6.12): step back to the symbol. */
	if (IS_ENABLED(CONFIG_X86_KERNEL_IBT) &&
	    is_endbr(*(u32 *)(addr - ENDBR_INSN_SIZE)))
		addr -= ENDBR_INSN_SIZE;
	return addr;
}

static int hop_lookup(kallsyms_lookup_name_t lookup, const char *name, void **slot)
{
	unsigned long addr = lookup(name);

	if (!addr) {
		pr_err("hop: kernel symbol %s not found; this kernel is not supported\n", name);
		return -ENOENT;
	}
	/*
	 * An indirect call lands on the function's ENDBR; 6.12 seals (poisons)
	 * the ENDBR of functions whose address is never taken, which would #CP
	 * on a CPU that enforces IBT.
	 */
	if (IS_ENABLED(CONFIG_X86_KERNEL_IBT) && cpu_feature_enabled(X86_FEATURE_IBT) &&
	    !is_endbr(*(u32 *)addr)) {
		pr_err("hop: %s cannot be called indirectly under IBT; boot with ibt=off\n", name);
		return -ENOEXEC;
	}
	*slot = (void *)addr;
	return 0;
}

int hop_ksyms_init(void)
{
	kallsyms_lookup_name_t lookup;
	int err;

	lookup = (kallsyms_lookup_name_t)hop_find_kallsyms_lookup_name();
	if (!lookup) {
		pr_err("hop: kallsyms_lookup_name not found (kprobes disabled?)\n");
		return -ENOENT;
	}
	err = hop_lookup(lookup, "switch_mm_irqs_off", (void **)&hop_ksyms.switch_mm_irqs_off);
	err = err ?: hop_lookup(lookup, "membarrier_update_current_mm",
				(void **)&hop_ksyms.membarrier_update_current_mm);
	err = err ?: hop_lookup(lookup, "put_files_struct", (void **)&hop_ksyms.put_files_struct);
	err = err ?: hop_lookup(lookup, "free_fs_struct", (void **)&hop_ksyms.free_fs_struct);
	err = err ?: hop_lookup(lookup, "free_nsproxy", (void **)&hop_ksyms.free_nsproxy);
	/* Robust futexes on slots wake their waiters as exit does (robust.c). */
	err = err ?: hop_lookup(lookup, "do_futex", (void **)&hop_ksyms.do_futex);
	/* The PKRU a new thread starts with (a variable: no ENDBR check). */
	if (!err && IS_ENABLED(CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS)) {
		hop_ksyms.init_pkru_value = (u32 *)lookup("init_pkru_value");
		if (!hop_ksyms.init_pkru_value) {
			pr_err("hop: kernel symbol init_pkru_value not found; this kernel is not supported\n");
			err = -ENOENT;
		}
	}
	if (!err && HOP_MM_HAS_OWNER)
		err = hop_lookup(lookup, "mm_update_next_owner",
				 (void **)&hop_ksyms.mm_update_next_owner);
	/* A variable, not a function: no ENDBR to check. */
	if (!err) {
		hop_ksyms.kprobes_all_disarmed = (bool *)lookup("kprobes_all_disarmed");
		if (!hop_ksyms.kprobes_all_disarmed) {
			pr_err("hop: kernel symbol kprobes_all_disarmed not found; this kernel is not supported\n");
			err = -ENOENT;
		}
	}
	if (!err && HOP_NEED_SYNC_MM_RSS)
		err = hop_lookup(lookup, "sync_mm_rss", (void **)&hop_ksyms.sync_mm_rss);
	if (!err && HOP_NEED_SAVE_FSGS_LOOKUP)
		err = hop_lookup(lookup, "current_save_fsgs",
				 (void **)&hop_ksyms.current_save_fsgs);
	return err;
}

/*
 * register_kprobes() and its kin take arrays of pointers; hop's probes are
 * arrays of structs.  All or none is registered; @what names the probes in
 * the message a failed load prints.
 */
#define HOP_PROBES_MAX 16

int hop_kprobes_register(struct kprobe *kps, unsigned int n, const char *what)
{
	struct kprobe *ptrs[HOP_PROBES_MAX];
	unsigned int i;
	int err;

	if (WARN_ON(n > HOP_PROBES_MAX))
		return -E2BIG;
	for (i = 0; i < n; i++)
		ptrs[i] = &kps[i];
	err = register_kprobes(ptrs, n);
	if (err)
		pr_err("hop: cannot probe %s (%d): kprobes are required\n", what, err);
	return err;
}

void hop_kprobes_unregister(struct kprobe *kps, unsigned int n)
{
	struct kprobe *ptrs[HOP_PROBES_MAX];
	unsigned int i;

	for (i = 0; i < n && i < HOP_PROBES_MAX; i++)
		ptrs[i] = &kps[i];
	unregister_kprobes(ptrs, i);
}

int hop_kretprobes_register(struct kretprobe *rps, unsigned int n, const char *what)
{
	struct kretprobe *ptrs[HOP_PROBES_MAX];
	unsigned int i;
	int err;

	if (WARN_ON(n > HOP_PROBES_MAX))
		return -E2BIG;
	for (i = 0; i < n; i++)
		ptrs[i] = &rps[i];
	err = register_kretprobes(ptrs, n);
	if (err)
		pr_err("hop: cannot guard %s (%d): kretprobes are required\n", what, err);
	return err;
}

void hop_kretprobes_unregister(struct kretprobe *rps, unsigned int n)
{
	struct kretprobe *ptrs[HOP_PROBES_MAX];
	unsigned int i;

	for (i = 0; i < n && i < HOP_PROBES_MAX; i++)
		ptrs[i] = &rps[i];
	unregister_kretprobes(ptrs, i);
}
