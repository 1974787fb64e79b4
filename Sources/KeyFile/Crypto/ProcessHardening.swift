internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide protections for programs that hold secrets.
public enum ProcessHardening {
    /// Makes the process non-dumpable (no core dumps, no ptrace attach by same-user processes,
    /// `/proc/PID/mem` unreadable to them) and sets the core-file limit to zero. Failures are
    /// ignored: the protections are best effort and never stop the tool.
    public static func apply() {
        _ = miis_set_non_dumpable()
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
    }
}
