// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of `rust/sync`: completions, timeouts, delayed work and an owned workqueue.

use crate::error::errno;
use crate::sync::{
    impl_has_delayed_work, new_delayed_work, Completion, DelayedWork, DelayedWorkItem, OwnedQueue,
    WqFlags,
};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{c_str, prelude::*, sync::Arc, workqueue};

/// How many `Ticker`s were dropped: proves the queued references are all released.
static DROPPED: AtomicU32 = AtomicU32::new(0);

/// A delayed work item that counts its runs and signals each one.
#[pin_data(PinnedDrop)]
struct Ticker {
    runs: AtomicU32,
    #[pin]
    ran: Completion,
    #[pin]
    work: DelayedWork<Ticker>,
}

impl_has_delayed_work! { impl HasDelayedWork<0> for Ticker { self.work } }

impl DelayedWorkItem for Ticker {
    fn run(this: Arc<Self>) {
        this.runs.fetch_add(1, Ordering::Relaxed);
        this.ran.complete();
    }
}

#[pinned_drop]
impl PinnedDrop for Ticker {
    fn drop(self: Pin<&mut Self>) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

fn ticker() -> Result<Arc<Ticker>> {
    Arc::pin_init(
        pin_init!(Ticker {
            runs: AtomicU32::new(0),
            ran <- Completion::new(),
            work <- new_delayed_work!("selftest_ticker"),
        }),
        GFP_KERNEL,
    )
}

fn check(ok: bool, what: &str) -> Result {
    if ok {
        pr_info!("sync: {what}: ok\n");
        Ok(())
    } else {
        pr_err!("sync: {what}: FAILED\n");
        Err(EINVAL)
    }
}

/// Runs the test; `_arg` is unused.
pub(crate) fn run(_arg: &str) -> Result {
    let dropped_before = DROPPED.load(Ordering::Relaxed);

    // A completion nobody signals times out; a signalled one does not.
    let t = ticker()?;
    check(
        t.ran.wait_timeout_ms(20) == Err(errno!(ETIMEDOUT)),
        "unsignalled wait times out",
    )?;
    check(!t.ran.is_done(), "not done before complete")?;

    // Delayed work runs once, after its delay, and a second queue while pending is refused.
    check(DelayedWork::queue(&t, workqueue::system(), 50), "queue")?;
    check(
        !DelayedWork::queue(&t, workqueue::system(), 50),
        "second queue refused",
    )?;
    t.ran.wait_timeout_ms(5000)?;
    check(t.runs.load(Ordering::Relaxed) == 1, "ran exactly once")?;

    // A cancelled pending work never runs, and its reference is released.
    check(
        DelayedWork::queue(&t, workqueue::system(), 60_000),
        "queue with long delay",
    )?;
    check(DelayedWork::is_pending(&t), "pending")?;
    check(DelayedWork::cancel_sync(&t), "cancel_sync stops it")?;
    check(!DelayedWork::cancel_sync(&t), "second cancel finds nothing")?;
    check(
        t.runs.load(Ordering::Relaxed) == 1,
        "cancelled work did not run",
    )?;

    // modify() pulls a far timer in, on a workqueue of our own.
    let wq = OwnedQueue::new(c_str!("rnbd_rs_selftest_wq"), WqFlags::MEM_RECLAIM, 0)?;
    t.ran.reinit();
    check(
        DelayedWork::queue(&t, &wq, 60_000),
        "queue on own workqueue",
    )?;
    DelayedWork::modify(&t, &wq, 10);
    t.ran.wait_timeout_ms(5000)?;
    check(t.runs.load(Ordering::Relaxed) == 2, "modified work ran")?;

    // complete_all releases every later wait until reinit.
    t.ran.complete_all();
    t.ran.wait();
    t.ran.wait_timeout_ms(1)?;
    check(t.ran.is_done(), "complete_all")?;

    // The last work is queued and left pending: destroying the workqueue runs it first, and
    // then every reference is gone.
    t.ran.reinit();
    check(DelayedWork::queue(&t, &wq, 10), "queue before destroy")?;
    wq.flush();
    t.ran.wait_timeout_ms(5000)?;
    drop(wq);
    drop(t);
    check(
        DROPPED.load(Ordering::Relaxed) == dropped_before + 1,
        "no reference leaked",
    )?;
    Ok(())
}
