//! errno values by the names strace prints (`EAGAIN`, not "Resource temporarily unavailable").

use rustix::io::Errno;

/// The symbolic name of an errno, as strace and the man pages spell it (on Windows, as
/// Winsock and the Win32 API spell their error codes: `WSAEWOULDBLOCK`, `ERROR_IO_PENDING`).
pub fn name(e: Errno) -> &'static str {
    KNOWN
        .iter()
        .chain(LINUX)
        .find(|(known, _)| *known == e)
        .map_or("EOTHER", |(_, n)| n)
}

/// Only the errors a socket server meets; anything else keeps its number in `other`.
#[cfg(unix)]
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
    // A socket's pread: it has no file position (glibc's AIO helpers try it first).
    (Errno::SPIPE, "ESPIPE"),
];

/// io_uring's timeouts answer `ETIME`, which not every OS defines.
#[cfg(target_os = "linux")]
const LINUX: &[(Errno, &str)] = &[(Errno::TIME, "ETIME")];
#[cfg(not(target_os = "linux"))]
const LINUX: &[(Errno, &str)] = &[];

/// Winsock's codes (what `WSAGetLastError` returns), and the Win32 codes overlapped calls and
/// the completion port report.
#[cfg(windows)]
const KNOWN: &[(Errno, &str)] = &[
    (Errno::WOULDBLOCK, "WSAEWOULDBLOCK"),
    (Errno::INTR, "WSAEINTR"),
    (Errno::INVAL, "WSAEINVAL"),
    (Errno::BADF, "WSAEBADF"),
    (Errno::CONNRESET, "WSAECONNRESET"),
    (Errno::NOTCONN, "WSAENOTCONN"),
    (Errno::SHUTDOWN, "WSAESHUTDOWN"),
    (Errno::CONNABORTED, "WSAECONNABORTED"),
    (Errno::CONNREFUSED, "WSAECONNREFUSED"),
    (Errno::MFILE, "WSAEMFILE"),
    (Errno::NOBUFS, "WSAENOBUFS"),
    (Errno::ADDRINUSE, "WSAEADDRINUSE"),
    (Errno::ADDRNOTAVAIL, "WSAEADDRNOTAVAIL"),
    (Errno::ACCESS, "WSAEACCES"),
    (Errno::TIMEDOUT, "WSAETIMEDOUT"),
    (Errno::INPROGRESS, "WSAEINPROGRESS"),
    (Errno::ALREADY, "WSAEALREADY"),
    (Errno::NOTSOCK, "WSAENOTSOCK"),
    (Errno::OPNOTSUPP, "WSAEOPNOTSUPP"),
    (Errno::FAULT, "WSAEFAULT"),
    (Errno::HOSTUNREACH, "WSAEHOSTUNREACH"),
    (Errno::NETUNREACH, "WSAENETUNREACH"),
    (Errno::from_raw_os_error(6), "ERROR_INVALID_HANDLE"),
    (Errno::from_raw_os_error(64), "ERROR_NETNAME_DELETED"),
    (Errno::from_raw_os_error(258), "WAIT_TIMEOUT"),
    (Errno::from_raw_os_error(995), "ERROR_OPERATION_ABORTED"),
    (Errno::from_raw_os_error(997), "ERROR_IO_PENDING"),
    (Errno::from_raw_os_error(1236), "ERROR_CONNECTION_ABORTED"),
];

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(unix)]
    fn names_match_strace() {
        assert_eq!(super::name(rustix::io::Errno::AGAIN), "EAGAIN");
        assert_eq!(super::name(rustix::io::Errno::CONNRESET), "ECONNRESET");
    }
}
