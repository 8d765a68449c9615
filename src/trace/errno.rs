//! errno values by the names strace prints (`EAGAIN`, not "Resource temporarily unavailable").

use rustix::io::Errno;

/// The symbolic name of an errno, as strace and the man pages spell it.
pub fn name(e: Errno) -> &'static str {
    // Only the errors a socket server meets; anything else keeps its number in `other`.
    const KNOWN: &[(Errno, &str)] = &[
        (Errno::AGAIN, "EAGAIN"),
        (Errno::INTR, "EINTR"),
        (Errno::INVAL, "EINVAL"),
        (Errno::BADF, "EBADF"),
        (Errno::CONNRESET, "ECONNRESET"),
        (Errno::PIPE, "EPIPE"),
        (Errno::NOTCONN, "ENOTCONN"),
        (Errno::CONNABORTED, "ECONNABORTED"),
        (Errno::CONNREFUSED, "ECONNREFUSED"),
        (Errno::MFILE, "EMFILE"),
        (Errno::NFILE, "ENFILE"),
        (Errno::NOBUFS, "ENOBUFS"),
        (Errno::NOMEM, "ENOMEM"),
        (Errno::ADDRINUSE, "EADDRINUSE"),
        (Errno::ADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (Errno::ACCESS, "EACCES"),
        (Errno::PERM, "EPERM"),
        (Errno::NOSYS, "ENOSYS"),
        (Errno::TIMEDOUT, "ETIMEDOUT"),
        (Errno::TIME, "ETIME"),
        (Errno::NOENT, "ENOENT"),
        (Errno::EXIST, "EEXIST"),
        (Errno::INPROGRESS, "EINPROGRESS"),
        (Errno::ALREADY, "EALREADY"),
        (Errno::CANCELED, "ECANCELED"),
        (Errno::NOTSOCK, "ENOTSOCK"),
        (Errno::OPNOTSUPP, "EOPNOTSUPP"),
        (Errno::FAULT, "EFAULT"),
        (Errno::HOSTUNREACH, "EHOSTUNREACH"),
        (Errno::NETUNREACH, "ENETUNREACH"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| *known == e)
        .map_or("EOTHER", |(_, n)| n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_match_strace() {
        assert_eq!(super::name(rustix::io::Errno::AGAIN), "EAGAIN");
        assert_eq!(super::name(rustix::io::Errno::CONNRESET), "ECONNRESET");
    }
}
