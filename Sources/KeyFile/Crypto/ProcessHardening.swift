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

    /// Whether the process may dump core or be attached to by same-user processes
    /// (`prctl(PR_GET_DUMPABLE)`); false after ``apply()``.
    public static var isDumpable: Bool { miis_get_dumpable() != 0 }

    /// The soft core-file size limit (0 after ``apply()``).
    public static var coreFileLimit: UInt64 {
        var limit = rlimit()
        _ = getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
        return UInt64(limit.rlim_cur)
    }

    /// Tests only: makes the test process dumpable again after checking ``apply()``, so that other
    /// suites running in the same process (for example the /proc/self/clear_refs users) are unaffected.
    static func restoreDumpableForTesting() { _ = miis_set_dumpable(1) }
}
