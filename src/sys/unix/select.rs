//! `select(2)`'s `fd_set` as the POSIX systems define it: a bitmap of `FD_SETSIZE` bits, indexed
//! by descriptor number, and the call (the Unix half of `crate::sys::select`, which records it).

/// Bits in an `fd_set`.
const FD_SETSIZE: usize = libc::FD_SETSIZE;

/// The system call's name as strace prints it. glibc's `select()` is a wrapper that issues
/// `pselect6`; on x86_64 Linux we make the real `select` system call ourselves.
pub const SELECT: &str = if cfg!(all(target_os = "linux", not(target_arch = "x86_64"))) {
    "pselect6"
} else {
    "select"
};

/// An `fd_set`.
pub struct FdSet(libc::fd_set);

impl FdSet {
    /// `FD_ZERO`.
    pub fn new() -> FdSet {
        // SAFETY: an all-zero fd_set is a valid, empty set; FD_ZERO makes it explicit.
        let mut set: libc::fd_set = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a live fd_set we own.
        unsafe { libc::FD_ZERO(&mut set) };
        FdSet(set)
    }

    /// `FD_SET`. The caller checked [`fits`]: the bit is inside the set.
    pub fn insert(&mut self, fd: i32) {
        assert!((fd as usize) < FD_SETSIZE, "no bit for descriptor {fd}");
        // SAFETY: fd < FD_SETSIZE (checked above), and the set is live.
        unsafe { libc::FD_SET(fd, &mut self.0) };
    }

    /// `FD_ISSET`.
    pub fn contains(&self, fd: i32) -> bool {
        // SAFETY: fd < FD_SETSIZE (checked first); the set is live.
        (fd as usize) < FD_SETSIZE && unsafe { libc::FD_ISSET(fd, &self.0) }
    }
}

/// Whether a new descriptor can be watched: its number must have a bit.
pub fn fits(fd: i32, _watched: usize) -> bool {
    (fd as usize) < FD_SETSIZE
}

/// Why [`fits`] said no, for the trace.
pub fn wall(fd: i32) -> String {
    crate::t!(
        "select-wall",
        fd = fd.to_string(),
        size = FD_SETSIZE.to_string()
    )
}

/// `nfds`: the highest descriptor + 1; the kernel looks at that many bits of each set.
pub fn nfds(highest_plus_one: i32) -> i32 {
    highest_plus_one
}

/// What the kernel looked at, for the trace.
pub fn checked(nfds: i32, listed: usize) -> String {
    crate::t!(
        "select-checked",
        nfds = nfds.to_string(),
        listed = listed.to_string()
    )
}

/// The summary's sentence when the wall was hit.
pub fn wall_hit(refused: u64, accepted: u64, max_fd: i64) -> String {
    crate::t!(
        "select-wall-hit",
        refused = refused.to_string(),
        accepted = accepted.to_string(),
        size = FD_SETSIZE.to_string(),
        max = max_fd.to_string()
    )
}

/// The summary's sentence when it was not.
pub fn wall_not_hit(max_fd: i64) -> String {
    crate::t!(
        "select-wall-not-hit",
        max = max_fd.to_string(),
        last = (FD_SETSIZE - 1).to_string()
    )
}

/// `select(nfds, readfds, writefds, NULL, NULL)`: wait for ever, no exception set. Returns how
/// many descriptors are ready, or -1.
pub fn select(nfds: i32, readable: &mut FdSet, writable: &mut FdSet) -> i32 {
    let none = std::ptr::null_mut::<libc::fd_set>();
    let forever = std::ptr::null_mut::<libc::timeval>();
    let (r, w) = (&mut readable.0, &mut writable.0);
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    // SAFETY: SYS_select takes exactly these five arguments; both sets are live, with no bit at
    // or above nfds (the caller's highest descriptor + 1).
    let n = unsafe { libc::syscall(libc::SYS_select, nfds, r, w, none, forever) } as i32;
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    // SAFETY: as above, through the C library's wrapper.
    let n = unsafe { libc::select(nfds, r, w, none, forever) };
    n
}
