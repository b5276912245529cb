/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hop_trace.h: tracepoints of hop.ko (system "hop"), stable names for
 * bpftrace's tracepoint:hop:* and for the tools in tools/.
 *
 * Every event carries the client's pid/tid (the task never changes during a
 * hop, so these are the caller's ids even inside the handler) and the service
 * name and slot, so a script can pair call -> handler_enter -> return by
 * (tid, depth) or (service, slot) and time each phase.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM hop

#if !defined(_HOP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _HOP_TRACE_H

#include <linux/tracepoint.h>
#include <linux/hop.h>

TRACE_EVENT(hop_service_registered,
	TP_PROTO(const char *name, pid_t server, unsigned int nr_slots, unsigned int msg_size),
	TP_ARGS(name, server, nr_slots, msg_size),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(pid_t, server)
		__field(unsigned int, nr_slots)
		__field(unsigned int, msg_size)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->server = server;
		__entry->nr_slots = nr_slots;
		__entry->msg_size = msg_size;
	),
	TP_printk("service=%s server=%d slots=%u msg_size=%u",
		  __entry->service, __entry->server, __entry->nr_slots, __entry->msg_size)
);

TRACE_EVENT(hop_service_gone,
	TP_PROTO(const char *name, pid_t server),
	TP_ARGS(name, server),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(pid_t, server)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->server = server;
	),
	TP_printk("service=%s server=%d", __entry->service, __entry->server)
);

/* A call claimed a slot and is about to switch into the server. */
TRACE_EVENT(hop_call,
	TP_PROTO(const char *name, unsigned int slot, u64 req_len, unsigned int depth),
	TP_ARGS(name, slot, req_len, depth),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(pid_t, pid)
		__field(pid_t, tid)
		__field(unsigned int, slot)
		__field(unsigned int, depth)
		__field(u64, req_len)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->pid = current->tgid;
		__entry->tid = current->pid;
		__entry->slot = slot;
		__entry->depth = depth;
		__entry->req_len = req_len;
	),
	TP_printk("service=%s pid=%d tid=%d slot=%u depth=%u req_len=%llu",
		  __entry->service, __entry->pid, __entry->tid, __entry->slot,
		  __entry->depth, __entry->req_len)
);

/* The task now runs as the server: the identity switch is done. */
TRACE_EVENT(hop_handler_enter,
	TP_PROTO(const char *name, unsigned int slot, unsigned int depth),
	TP_ARGS(name, slot, depth),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(pid_t, pid)
		__field(pid_t, tid)
		__field(unsigned int, slot)
		__field(unsigned int, depth)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->pid = current->tgid;
		__entry->tid = current->pid;
		__entry->slot = slot;
		__entry->depth = depth;
	),
	TP_printk("service=%s pid=%d tid=%d slot=%u depth=%u",
		  __entry->service, __entry->pid, __entry->tid, __entry->slot, __entry->depth)
);

/* The handler returned and the caller is restored; latency_ns spans the hop. */
TRACE_EVENT(hop_return,
	TP_PROTO(const char *name, unsigned int slot, long result, u64 latency_ns),
	TP_ARGS(name, slot, result, latency_ns),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(pid_t, pid)
		__field(pid_t, tid)
		__field(unsigned int, slot)
		__field(long, result)
		__field(u64, latency_ns)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->pid = current->tgid;
		__entry->tid = current->pid;
		__entry->slot = slot;
		__entry->result = result;
		__entry->latency_ns = latency_ns;
	),
	TP_printk("service=%s pid=%d tid=%d slot=%u result=%ld latency_ns=%llu",
		  __entry->service, __entry->pid, __entry->tid, __entry->slot,
		  __entry->result, __entry->latency_ns)
);

/* reason: 1 fault, 2 deadline, 3 client death, 4 outside signal. */
TRACE_EVENT(hop_abort,
	TP_PROTO(const char *name, unsigned int slot, int reason, int sig),
	TP_ARGS(name, slot, reason, sig),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(pid_t, pid)
		__field(pid_t, tid)
		__field(unsigned int, slot)
		__field(int, reason)
		__field(int, sig)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->pid = current->tgid;
		__entry->tid = current->pid;
		__entry->slot = slot;
		__entry->reason = reason;
		__entry->sig = sig;
	),
	TP_printk("service=%s pid=%d tid=%d slot=%u reason=%s sig=%d",
		  __entry->service, __entry->pid, __entry->tid, __entry->slot,
		  __print_symbolic(__entry->reason, { 1, "fault" }, { 2, "deadline" },
				   { 3, "client_death" }, { 4, "signal" }),
		  __entry->sig)
);

/* ---- the interrupt path ---- */

/* The device's interrupt for an async call's read, seen in process context. */
TRACE_EVENT(hop_irq,
	TP_PROTO(const char *name, u64 user_data, unsigned int len),
	TP_ARGS(name, user_data, len),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(u64, user_data)
		__field(unsigned int, len)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->user_data = user_data;
		__entry->len = len;
	),
	TP_printk("service=%s user_data=%llu len=%u", __entry->service,
		  __entry->user_data, __entry->len)
);

/* The delivering kernel thread runs (how: 1 spawned, 2 existing worker). */
TRACE_EVENT(hop_deliver_start,
	TP_PROTO(const char *name, u64 user_data, unsigned int how, u64 irq_to_run_ns),
	TP_ARGS(name, user_data, how, irq_to_run_ns),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(u64, user_data)
		__field(unsigned int, how)
		__field(u64, irq_to_run_ns)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->user_data = user_data;
		__entry->how = how;
		__entry->irq_to_run_ns = irq_to_run_ns;
	),
	TP_printk("service=%s user_data=%llu how=%s irq_to_run_ns=%llu",
		  __entry->service, __entry->user_data,
		  __entry->how == 1 ? "spawn" : "worker", __entry->irq_to_run_ns)
);

/* The data is in the server's buffer (result: bytes, or -errno). */
TRACE_EVENT(hop_deliver_done,
	TP_PROTO(const char *name, u64 user_data, long result),
	TP_ARGS(name, user_data, result),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(u64, user_data)
		__field(long, result)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->user_data = user_data;
		__entry->result = result;
	),
	TP_printk("service=%s user_data=%llu result=%ld", __entry->service,
		  __entry->user_data, __entry->result)
);

/* The client's async call is complete (posted on its handle). */
TRACE_EVENT(hop_async_complete,
	TP_PROTO(const char *name, u64 user_data, long result, u64 irq_to_complete_ns),
	TP_ARGS(name, user_data, result, irq_to_complete_ns),
	TP_STRUCT__entry(
		__array(char, service, HOP_NAME_MAX)
		__field(u64, user_data)
		__field(long, result)
		__field(u64, irq_to_complete_ns)
	),
	TP_fast_assign(
		strscpy(__entry->service, name, HOP_NAME_MAX);
		__entry->user_data = user_data;
		__entry->result = result;
		__entry->irq_to_complete_ns = irq_to_complete_ns;
	),
	TP_printk("service=%s user_data=%llu result=%ld irq_to_complete_ns=%llu",
		  __entry->service, __entry->user_data, __entry->result,
		  __entry->irq_to_complete_ns)
);

#endif /* _HOP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE hop_trace
#include <trace/define_trace.h>
