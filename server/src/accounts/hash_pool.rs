//! The threads password hashes run on: a few of their own, at the lowest CPU priority.
//!
//! An argon2id hash is tens of milliseconds of CPU. On tokio's blocking pool it would compete
//! as an equal with the workers' runtime threads, and on a box whose cores are busy
//! delivering messages each sign-in would take its share from them (measured: fan-out p99
//! +20–60 % at 5 sign-ins a second, `BENCHMARKS.md`). Here every hashing thread runs in
//! Linux's `SCHED_IDLE` class: when the cores are busy the scheduler gives message delivery
//! nearly all of them and sign-ins wait instead; when they are idle, hashing takes what it
//! needs. At most [`THREADS`] hashes run at once,
//! whatever the number of sign-ins, so a flood costs at most that many times a hash's
//! memory; the rest queue.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::oneshot;

use crate::sync::lock;

/// Hashing threads per process: two, as there is a worker process per core (a host runs
/// twice as many hashes at once as it has cores, each holding 19 MiB while it runs).
pub const THREADS: usize = 2;

/// The nice value of the hashing threads: the lowest priority.
pub const NICE: i32 = 19;

/// Work for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads stopped (they never do while the process runs).
#[derive(Debug, thiserror::Error)]
#[error("the password hashing threads are gone")]
pub struct PoolGone;

/// Where jobs are queued; the threads start with the first.
static JOBS: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();

/// Runs `work` on a hashing thread and returns its result.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PoolGone> {
    let (reply, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(work());
    });
    lock(JOBS.get_or_init(start))
        .send(job)
        .map_err(|_| PoolGone)?;
    result.await.map_err(|_| PoolGone)
}

/// Starts the threads; returns the queue they take jobs from.
fn start() -> Mutex<mpsc::Sender<Job>> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for index in 0..THREADS {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("password-hash-{index}"))
            .spawn(move || {
                lower_this_threads_priority();
                loop {
                    let job = lock(&queue).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "a password hashing thread could not start");
        }
    }
    Mutex::new(jobs)
}

/// Puts the calling thread in Linux's `SCHED_IDLE` class (it runs when nothing else of
/// normal priority wants the core) with the nice value [`NICE`] (on Linux both are a
/// thread's, not the process's). A failure leaves it where it was: hashing still works.
fn lower_this_threads_priority() {
    // SAFETY: plain system calls; `param` outlives the call; `gettid` names this thread.
    let (idle, nice) = unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::pid_t;
        let param = libc::sched_param { sched_priority: 0 };
        let idle = libc::sched_setscheduler(thread, libc::SCHED_IDLE, &param);
        let nice = libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, NICE);
        (idle, nice)
    };
    if idle != 0 || nice != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "could not lower the hashing threads' priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_an_idle_class_thread_and_the_caller_keeps_its_priority() {
        let priority = || {
            // SAFETY: as above.
            unsafe {
                let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::getpriority(libc::PRIO_PROCESS, thread)
            }
        };
        let (name, nice) =
            run(move || (std::thread::current().name().map(str::to_owned), priority()))
                .await
                .unwrap();
        assert!(name.unwrap().starts_with("password-hash-"));
        assert_eq!(nice, NICE);
        // SAFETY: a plain system call about this process's threads.
        let policy = run(|| unsafe { libc::sched_getscheduler(0) })
            .await
            .unwrap();
        assert_eq!(policy, libc::SCHED_IDLE);
        assert_eq!(priority(), 0, "the runtime's own thread is untouched");
    }
}
