//! The runtime a dispatch worker runs on.
//!
//! The worker's async tasks — the senders talking to relays, the feeder, the
//! recorder — share one thread; its CPU work (reading and composing notices,
//! formatting e-mails, recording results) runs on the runtime's blocking threads.
//! Those run at a lower CPU priority, so that when the cores are busy a relay's
//! answer is read and the next command written at once, and our own bookkeeping
//! waits its turn instead. On a 2-core machine shared with the SMTP server, the
//! sending thread otherwise waited for a core about 10 % of the time, and the
//! relay sat idle meanwhile (`docs/operations.md`, dispatch throughput).

/// The nice value of the worker's blocking threads (0 is normal, 19 the lowest).
const BLOCKING_NICE: i32 = 10;

/// An actix system whose blocking threads run at [`BLOCKING_NICE`]. `serve`,
/// `breachline worker` and `breachline bench dispatch` run on it; HTTP requests are
/// served by actix's own worker threads and keep their normal priority.
pub fn system() -> std::io::Result<actix_web::rt::SystemRunner> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(lower_priority)
        .build()?;
    Ok(actix_web::rt::System::with_tokio_rt(move || runtime))
}

/// Lowers the calling thread's priority to [`BLOCKING_NICE`], never raising it (a
/// service started with `nice` keeps its niceness); Linux keeps a nice value per
/// thread. Failing is harmless (the thread keeps its priority), so it is only logged.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let thread = Some(rustix::thread::gettid());
        let lowered = match getpriority_process(thread) {
            Ok(nice) if nice >= BLOCKING_NICE => Ok(()),
            _ => setpriority_process(thread, BLOCKING_NICE),
        };
        if let Err(e) = lowered {
            tracing::debug!(error = %e, "could not lower a worker thread's priority");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn blocking_threads_run_at_the_background_priority_and_the_main_thread_does_not() {
        let own = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
        let (main, blocking) = system().expect("runtime").block_on(async {
            let main = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
            let blocking = actix_web::rt::task::spawn_blocking(|| {
                rustix::process::getpriority_process(Some(rustix::thread::gettid()))
            })
            .await
            .expect("blocking task");
            (main, blocking)
        });
        assert_eq!(main.ok(), own.ok());
        assert_eq!(blocking.ok(), Some(BLOCKING_NICE.max(own.unwrap_or(0))));
    }
}
