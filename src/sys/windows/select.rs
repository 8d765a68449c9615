//! Winsock's `select`: its `fd_set` is not a bitmap but an array of up to `FD_SETSIZE` (64)
//! sockets and a count; `nfds` is ignored. The wall is how many sockets one set can hold (the
//! Windows half of `crate::sys::select`, which records the call).

use windows_sys::Win32::Networking::WinSock;

/// Sockets one `fd_set` can hold.
const FD_SETSIZE: usize = 64;

/// The call's name.
pub const SELECT: &str = "select";

/// An `fd_set`: `{ fd_count, fd_array[64] }`.
pub struct FdSet(WinSock::FD_SET);

impl FdSet {
    /// `FD_ZERO`: a count of 0.
    pub fn new() -> FdSet {
        FdSet(WinSock::FD_SET {
            fd_count: 0,
            fd_array: [0; FD_SETSIZE],
        })
    }

    /// `FD_SET`: append to the array. The caller checked [`fits`]: there is room.
    pub fn insert(&mut self, fd: i32) {
        let n = self.0.fd_count as usize;
        assert!(n < FD_SETSIZE, "an fd_set holds {FD_SETSIZE} sockets");
        self.0.fd_array[n] = fd as WinSock::SOCKET;
        self.0.fd_count += 1;
    }

    /// `FD_ISSET` (`__WSAFDIsSet`): a walk along the array.
    pub fn contains(&self, fd: i32) -> bool {
        self.0.fd_array[..self.0.fd_count as usize].contains(&(fd as WinSock::SOCKET))
    }
}

/// Whether a new socket can be watched: the read set (listener included) must have room.
pub fn fits(_fd: i32, watched: usize) -> bool {
    watched <= FD_SETSIZE
}

/// Why [`fits`] said no, for the trace.
pub fn wall(fd: i32) -> String {
    crate::t!(
        "win-select-wall",
        fd = fd.to_string(),
        nth = (FD_SETSIZE + 1).to_string(),
        size = FD_SETSIZE.to_string()
    )
}

/// `nfds` is ignored by Winsock ("included only for compatibility"); we pass 0.
pub fn nfds(_highest_plus_one: i32) -> i32 {
    0
}

/// What Winsock looked at, for the trace.
pub fn checked(_nfds: i32, listed: usize) -> String {
    crate::t!("win-select-checked", listed = listed.to_string())
}

/// The summary's sentence when the wall was hit.
pub fn wall_hit(refused: u64, accepted: u64, _max_fd: i64) -> String {
    crate::t!(
        "win-select-wall-hit",
        refused = refused.to_string(),
        accepted = accepted.to_string(),
        size = FD_SETSIZE.to_string()
    )
}

/// The summary's sentence when it was not.
pub fn wall_not_hit(_max_fd: i64) -> String {
    crate::t!("win-select-wall-not-hit", size = FD_SETSIZE.to_string())
}

/// `select(0, readfds, writefds, NULL, NULL)`: wait for ever, no exception set. Returns how
/// many sockets are ready, or -1 (`SOCKET_ERROR`).
pub fn select(_nfds: i32, readable: &mut FdSet, writable: &mut FdSet) -> i32 {
    // SAFETY: both sets are live and hold fd_count valid entries; NULL except-set and NULL
    // timeout (wait for ever) are allowed.
    unsafe {
        WinSock::select(
            0,
            &mut readable.0,
            &mut writable.0,
            std::ptr::null_mut(),
            std::ptr::null(),
        )
    }
}
