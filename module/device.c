// SPDX-License-Identifier: GPL-2.0
/*
 * device.c: the slow device behind HOP_IOC_DEV_READ.
 *
 * Where QEMU's "edu" PCI device (1234:11e8) exists, reads are real DMA
 * transfers from its 4 KiB buffer into a coherent buffer, each finished by
 * the device's own interrupt (MSI, or INTx as a fallback).  The device does
 * one transfer at a time and takes 100 ms of virtual time for each, so reads
 * queue up.  Where there is no such device, a timer stands in for it: each
 * read "completes" after timer_delay_us in an hrtimer (hard interrupt
 * context), with the same data.  The choice is made at load
 * (device=auto|edu|timer) and shown in /sys/kernel/debug/hop/device.
 *
 * Either way the device's data is HOP_DEV_SIZE bytes, byte i being
 * hop_dev_pattern(i) (written to the edu buffer by DMA at probe), and a
 * finished read reaches op->done() in process context: the IRQ thread for
 * edu, a high-priority kworker for the timer.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/interrupt.h>
#include <linux/dma-mapping.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/workqueue.h>
#include "hop_internal.h"

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_REG_ID		0x00
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_LEN		0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1
#define EDU_DMA_TO_RAM		0x2	/* device buffer -> RAM */
#define EDU_DMA_IRQ		0x4
#define EDU_IRQ_DMA		0x100
#define EDU_BUF_ADDR		0x40000	/* the device buffer, in the device's DMA space */
/*
 * The edu buffer has 4 KiB, but QEMU before 8.2.1 aborts (hw_error) on a
 * DMA that ends exactly at its end ("edu: fix DMA range upper bound check"),
 * and bookworm ships QEMU 7.2: hop uses the first half only.
 */
static_assert(HOP_DEV_SIZE < 4096);

static char *hop_device_param = "auto";
module_param_named(device, hop_device_param, charp, 0444);
MODULE_PARM_DESC(device, "Slow device for async calls: auto (edu if present, else timer), edu, or timer");

static unsigned int hop_timer_delay_us = 1000;
module_param_named(timer_delay_us, hop_timer_delay_us, uint, 0644);
MODULE_PARM_DESC(timer_delay_us, "Latency of the timer device, in microseconds (default 1000)");

static u8 hop_dev_pattern(unsigned int i)
{
	return (u8)(i * 7 + 0x5a);
}

/* ---- edu ------------------------------------------------------------------ */

struct hop_edu {
	struct pci_dev *pdev;
	void __iomem *mmio;
	u8 *buf;			/* coherent, DMA target */
	dma_addr_t buf_dma;
	int irq;
	bool msi;
	spinlock_t lock;		/* queue, cur */
	struct list_head queue;
	struct hop_devop *cur;		/* the transfer the device is doing */
};

static struct hop_edu *hop_edu;		/* the bound device, if any */
static bool hop_edu_in_use;		/* chosen as the device */

/* Caller holds edu->lock. */
static void hop_edu_start_locked(struct hop_edu *edu)
{
	struct hop_devop *op;

	if (edu->cur || list_empty(&edu->queue))
		return;
	op = list_first_entry(&edu->queue, struct hop_devop, node);
	list_del(&op->node);
	edu->cur = op;
	writeq(EDU_BUF_ADDR + op->offset, edu->mmio + EDU_REG_DMA_SRC);
	writeq(edu->buf_dma, edu->mmio + EDU_REG_DMA_DST);
	writeq(op->len, edu->mmio + EDU_REG_DMA_LEN);
	writeq(EDU_DMA_RUN | EDU_DMA_TO_RAM | EDU_DMA_IRQ, edu->mmio + EDU_REG_DMA_CMD);
}

static irqreturn_t hop_edu_hardirq(int irq, void *data)
{
	struct hop_edu *edu = data;
	u32 status = readl(edu->mmio + EDU_REG_IRQ_STATUS);

	if (!status)
		return IRQ_NONE;
	/* The edu device wants an ack even with MSI. */
	writel(status, edu->mmio + EDU_REG_IRQ_ACK);
	if (!(status & EDU_IRQ_DMA))
		return IRQ_HANDLED;
	spin_lock(&edu->lock);
	if (edu->cur)
		edu->cur->t_irq = ktime_get_ns();
	spin_unlock(&edu->lock);
	return IRQ_WAKE_THREAD;
}

static irqreturn_t hop_edu_thread(int irq, void *data)
{
	struct hop_edu *edu = data;
	struct hop_devop *op;

	spin_lock_irq(&edu->lock);
	op = edu->cur;
	edu->cur = NULL;
	if (op)
		memcpy(op->data, edu->buf, op->len);
	hop_edu_start_locked(edu);
	spin_unlock_irq(&edu->lock);
	if (op)
		op->done(op);
	return IRQ_HANDLED;
}

static int hop_edu_submit(struct hop_devop *op)
{
	struct hop_edu *edu = hop_edu;
	unsigned long flags;

	spin_lock_irqsave(&edu->lock, flags);
	list_add_tail(&op->node, &edu->queue);
	hop_edu_start_locked(edu);
	spin_unlock_irqrestore(&edu->lock, flags);
	return 0;
}

/* Fill the device's buffer with the pattern: one DMA from RAM, polled. */
static int hop_edu_fill(struct hop_edu *edu)
{
	unsigned int i;

	for (i = 0; i < HOP_DEV_SIZE; i++)
		edu->buf[i] = hop_dev_pattern(i);
	writeq(edu->buf_dma, edu->mmio + EDU_REG_DMA_SRC);
	writeq(EDU_BUF_ADDR, edu->mmio + EDU_REG_DMA_DST);
	writeq(HOP_DEV_SIZE, edu->mmio + EDU_REG_DMA_LEN);
	writeq(EDU_DMA_RUN, edu->mmio + EDU_REG_DMA_CMD);
	for (i = 0; i < 100 && (readq(edu->mmio + EDU_REG_DMA_CMD) & EDU_DMA_RUN); i++)
		msleep(20);
	return (readq(edu->mmio + EDU_REG_DMA_CMD) & EDU_DMA_RUN) ? -ETIMEDOUT : 0;
}

static int hop_edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct hop_edu *edu;
	int err;

	if (hop_edu)
		return -EBUSY;		/* one device is enough */
	edu = devm_kzalloc(&pdev->dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;
	spin_lock_init(&edu->lock);
	INIT_LIST_HEAD(&edu->queue);
	err = pcim_enable_device(pdev);
	if (err)
		return err;
	err = pcim_iomap_regions(pdev, BIT(0), "hop-edu");
	if (err)
		return err;
	edu->mmio = pcim_iomap_table(pdev)[0];
	/* The edu device only reaches the first 256 MiB. */
	err = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(28));
	if (err)
		return err;
	edu->buf = dmam_alloc_coherent(&pdev->dev, HOP_DEV_SIZE, &edu->buf_dma, GFP_KERNEL);
	if (!edu->buf)
		return -ENOMEM;
	pci_set_master(pdev);
	err = hop_edu_fill(edu);
	if (err)
		return err;
	err = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI | HOP_PCI_IRQ_INTX);
	if (err < 0)
		return err;
	edu->msi = pdev->msi_enabled;
	edu->irq = pci_irq_vector(pdev, 0);
	err = request_threaded_irq(edu->irq, hop_edu_hardirq, hop_edu_thread,
				   edu->msi ? 0 : IRQF_SHARED, "hop-edu", edu);
	if (err) {
		pci_free_irq_vectors(pdev);
		return err;
	}
	pci_set_drvdata(pdev, edu);
	hop_edu = edu;
	dev_info(&pdev->dev, "hop: edu device (id %#x), %s interrupt\n",
		 readl(edu->mmio + EDU_REG_ID), edu->msi ? "MSI" : "INTx");
	return 0;
}

static void hop_edu_remove(struct pci_dev *pdev)
{
	struct hop_edu *edu = pci_get_drvdata(pdev);

	/* Only reached at module unload, when no async call is in flight. */
	free_irq(edu->irq, edu);
	pci_free_irq_vectors(pdev);
	hop_edu = NULL;
}

static const struct pci_device_id hop_edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR, EDU_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, hop_edu_ids);

static struct pci_driver hop_edu_driver = {
	.name = "hop-edu",
	.id_table = hop_edu_ids,
	.probe = hop_edu_probe,
	.remove = hop_edu_remove,
};

/* ---- the timer stand-in ---------------------------------------------------- */

static void hop_timer_bh(struct work_struct *work)
{
	struct hop_devop *op = container_of(work, struct hop_devop, bh);
	unsigned int i;

	for (i = 0; i < op->len; i++)
		op->data[i] = hop_dev_pattern(op->offset + i);
	op->done(op);
}

static enum hrtimer_restart hop_timer_fire(struct hrtimer *timer)
{
	struct hop_devop *op = container_of(timer, struct hop_devop, timer);

	/* The "interrupt": hard IRQ context, like the edu device's. */
	op->t_irq = ktime_get_ns();
	queue_work(system_highpri_wq, &op->bh);
	return HRTIMER_NORESTART;
}

static int hop_timer_submit(struct hop_devop *op)
{
	INIT_WORK(&op->bh, hop_timer_bh);
	hrtimer_init(&op->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	op->timer.function = hop_timer_fire;
	hrtimer_start(&op->timer, ns_to_ktime((u64)READ_ONCE(hop_timer_delay_us) * 1000),
		      HRTIMER_MODE_REL);
	return 0;
}

/* ---- the interface ----------------------------------------------------------- */

int hop_device_submit(struct hop_devop *op)
{
	op->t_irq = 0;
	return hop_edu_in_use ? hop_edu_submit(op) : hop_timer_submit(op);
}

const char *hop_device_describe(void)
{
	if (!hop_edu_in_use)
		return "timer";
	return hop_edu->msi ? "edu msi" : "edu intx";
}

int hop_device_init(void)
{
	int err;

	if (!strcmp(hop_device_param, "timer"))
		return 0;
	err = pci_register_driver(&hop_edu_driver);
	if (err)
		return err;
	hop_edu_in_use = hop_edu != NULL;
	if (!hop_edu_in_use && !strcmp(hop_device_param, "edu")) {
		pci_unregister_driver(&hop_edu_driver);
		pr_err("hop: device=edu but no edu device was found\n");
		return -ENODEV;
	}
	pr_info("hop: slow device: %s\n", hop_device_describe());
	return 0;
}

void hop_device_exit(void)
{
	if (strcmp(hop_device_param, "timer"))
		pci_unregister_driver(&hop_edu_driver);
}
