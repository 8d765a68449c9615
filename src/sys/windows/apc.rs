//! Completion routines (asynchronous procedure calls): an overlapped `WSARecv` or `WSASend`
//! given an `lpCompletionRoutine` reports its end by queueing that routine to the thread that
//! made the call, and Windows runs it only inside an alertable wait of that thread
//! (`SleepEx(…, TRUE)`, `WSAWaitForMultipleEvents(…, TRUE)`, …), which then returns
//! `WSA_WAIT_IO_COMPLETION`. No other thread can take the result.
//!
//! Our routine does no I/O of its own: it notes what it was told (the OVERLAPPED, the error,
//! the bytes), the thread it ran on and when, and the wait it ran inside records it as an `op`
//! line before its own. The model's callbacks then run after the wait, as traced calls of
//! their own.
//!
//! See LPWSAOVERLAPPED_COMPLETION_ROUTINE, WSARecv, WSASend and WSAWaitForMultipleEvents on
//! learn.microsoft.com.

use std::cell::RefCell;
use std::time::Instant;
use windows_sys::Win32::System::IO::OVERLAPPED;
use windows_sys::Win32::System::Threading::GetCurrentThreadId;

/// What one completion routine was told, and where and when it ran.
#[derive(Clone, Copy)]
pub struct Ran {
    /// The OVERLAPPED's address: which operation ended.
    pub ov: usize,
    /// `dwError`: 0, or the Win32 error the operation ended with.
    pub error: u32,
    /// `cbTransferred`: bytes moved (0 on error).
    pub bytes: u32,
    /// The thread it ran on (`GetCurrentThreadId` inside the routine).
    pub tid: u32,
    pub at: Instant,
}

impl Ran {
    /// The result as a callback reads it.
    pub fn result(&self) -> rustix::io::Result<u32> {
        match self.error {
            0 => Ok(self.bytes),
            e => Err(rustix::io::Errno::from_raw_os_error(e as i32)),
        }
    }
}

thread_local! {
    /// The routines that ran on this thread since the wait began.
    static RAN: RefCell<Vec<Ran>> = const { RefCell::new(Vec::new()) };
}

/// The completion routine handed to `WSARecv` and `WSASend`.
///
/// # Safety
/// Called by Windows only, inside an alertable wait of the thread that started the operation.
pub unsafe extern "system" fn routine(error: u32, bytes: u32, ov: *mut OVERLAPPED, _flags: u32) {
    // SAFETY: no arguments; this thread's id.
    let tid = unsafe { GetCurrentThreadId() };
    let ran = Ran {
        ov: ov as usize,
        error,
        bytes,
        tid,
        at: Instant::now(),
    };
    RAN.with(|r| r.borrow_mut().push(ran));
}

/// The routines that have run on this thread since the last call, in the order they ran.
pub fn take() -> Vec<Ran> {
    RAN.with(|r| std::mem::take(&mut *r.borrow_mut()))
}
