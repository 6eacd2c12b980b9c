// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of `rust/sync`: completions, timeouts, delayed work, an owned workqueue and
//! gates.

use crate::error::errno;
use crate::sync::{
    impl_has_delayed_work, new_delayed_work, Completion, DelayedWork, DelayedWorkItem, Gate,
    OwnedQueue, WqFlags,
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

/// How many `Gated` values were dropped.
static GATED_DROPPED: AtomicU32 = AtomicU32::new(0);

/// A value behind a gate that counts its drops.
struct Gated(u32);

impl Drop for Gated {
    fn drop(&mut self) {
        GATED_DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// The gate: no pass before `open` or after `shut`, passes read the value, draining waits
/// for them, `take` gives the value back once, and a gate dropped open drops its value.
fn gate() -> Result {
    let before = GATED_DROPPED.load(Ordering::Relaxed);
    let g = KBox::pin_init(Gate::<Gated>::new(), GFP_KERNEL)?;
    check(g.enter().is_none(), "gate: no pass before open")?;
    check(g.open(Gated(7)).is_ok(), "gate: open")?;
    check(
        g.open(Gated(8)).map_err(|v| v.0) == Err(8),
        "gate: second open refused",
    )?;
    let p1 = g.enter().ok_or(EINVAL)?;
    let p2 = g.enter().ok_or(EINVAL)?;
    check(p1.0 == 7 && p2.0 == 7, "gate: passes read the value")?;
    check(
        g.wait_drained_ms(1) == Err(EINVAL),
        "gate: drain needs shut",
    )?;
    g.shut();
    check(g.enter().is_none(), "gate: no pass after shut")?;
    check(
        g.wait_drained_ms(20) == Err(errno!(ETIMEDOUT)),
        "gate: drain waits for passes",
    )?;
    check(g.take().is_none(), "gate: no take while passes are out")?;
    drop(p1);
    drop(p2);
    g.wait_drained_ms(5000)?;
    let v = g.take().ok_or(EINVAL)?;
    check(v.0 == 7 && g.take().is_none(), "gate: take once")?;
    drop(v);
    drop(g);
    check(
        GATED_DROPPED.load(Ordering::Relaxed) == before + 2,
        "gate: taken value dropped once, refused one dropped",
    )?;
    let g = KBox::pin_init(Gate::<Gated>::new(), GFP_KERNEL)?;
    check(g.open(Gated(1)).is_ok(), "gate: open again")?;
    drop(g.enter());
    drop(g);
    check(
        GATED_DROPPED.load(Ordering::Relaxed) == before + 3,
        "gate: dropped open gate drops its value",
    )
}

/// Runs the test; `_arg` is unused.
pub(crate) fn run(_arg: &str) -> Result {
    gate()?;
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
