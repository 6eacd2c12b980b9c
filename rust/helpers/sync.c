// SPDX-License-Identifier: GPL-2.0-or-later

#include <linux/completion.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

/*
 * One lockdep class for the wait-queue lock of every completion a module creates: that lock
 * is only held inside complete() and the wait functions, never nested.
 */
void rnbd_rs_helper_init_completion(struct completion *x)
{
	init_completion(x);
}

void rnbd_rs_helper_reinit_completion(struct completion *x)
{
	reinit_completion(x);
}

/* INIT_DELAYED_WORK with the lockdep classes of the caller (one per Rust call site). */
void rnbd_rs_helper_init_delayed_work(struct delayed_work *dwork, work_func_t func,
				      const char *name, struct lock_class_key *work_key,
				      struct lock_class_key *timer_key)
{
	__init_work(&dwork->work, 0);
	dwork->work.data = (atomic_long_t)WORK_DATA_INIT();
	lockdep_init_map(&dwork->work.lockdep_map, name, work_key, 0);
	INIT_LIST_HEAD(&dwork->work.entry);
	dwork->work.func = func;
	init_timer_key(&dwork->timer, delayed_work_timer_fn, TIMER_IRQSAFE, name, timer_key);
}

/* alloc_workqueue is variadic; Rust passes the name as the format's only argument. */
struct workqueue_struct *rnbd_rs_helper_alloc_workqueue(const char *name, unsigned int flags,
						       int max_active)
{
	return alloc_workqueue("%s", flags, max_active, name);
}

unsigned long rnbd_rs_helper_msecs_to_jiffies(const unsigned int m)
{
	return msecs_to_jiffies(m);
}

bool rnbd_rs_helper_delayed_work_pending(struct delayed_work *dwork)
{
	return delayed_work_pending(dwork);
}

/*
 * One spinlock per module for rust/sync/global.rs: it only guards the reference count
 * taken on a module-global object, never nests and is never held across anything else.
 * Interrupts are disabled while it is held: the slot is read from any context.
 */
static DEFINE_SPINLOCK(rnbd_rs_global_slot_lock);

unsigned long rnbd_rs_helper_global_slot_lock(void)
{
	unsigned long flags;

	spin_lock_irqsave(&rnbd_rs_global_slot_lock, flags);
	return flags;
}

void rnbd_rs_helper_global_slot_unlock(unsigned long flags)
{
	spin_unlock_irqrestore(&rnbd_rs_global_slot_lock, flags);
}

/* RCU read-side critical sections for rust/sync/rcu.rs (static inlines in C). */
void rnbd_rs_helper_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rnbd_rs_helper_rcu_read_unlock(void)
{
	rcu_read_unlock();
}
