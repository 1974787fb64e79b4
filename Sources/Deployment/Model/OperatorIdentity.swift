import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who runs a command, as the deployment's log records it: the real user, plus who invoked
/// `sudo` (`SUDO_USER`) and the audit login UID (`/proc/self/loginuid`, set by PAM at login and
/// kept across `sudo` and `su`), so that a run as root still names the administrator behind it.
///
/// `SUDO_USER` is whatever the environment says (a root shell can set it); the login UID is the
/// kernel's and cannot be changed by the process. Both are recorded, never trusted for access.
public enum OperatorIdentity {
    /// The kernel's "no login UID" value ((uid_t)-1).
    static let unsetLoginUID: UInt32 = 4_294_967_295

    /// The current process's operator, e.g. `root (sudo by alice, login alice uid 1000)`.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        describe(userID: getuid(), sudoUser: environment["SUDO_USER"], loginUID: readLoginUID())
    }

    /// The description for a real user ID, a `SUDO_USER` value and a login UID.
    static func describe(userID: uid_t, sudoUser: String?, loginUID: UInt32?, userName: (uid_t) -> String? = userName) -> String {
        let user = userName(userID) ?? "uid \(userID)"
        var via: [String] = []
        if let sudoUser, !sudoUser.isEmpty, sudoUser != user {
            via.append("sudo by \(sudoUser)")
        }
        if let loginUID, loginUID != unsetLoginUID, loginUID != userID {
            via.append("login \(userName(loginUID).map { "\($0) " } ?? "")uid \(loginUID)")
        }
        return via.isEmpty ? user : "\(user) (\(via.joined(separator: ", ")))"
    }

    /// The user name of `uid` from the passwd database.
    static func userName(_ uid: uid_t) -> String? { passwdEntry(uid)?.name }

    /// The user name and home directory of `uid` from the passwd database (`getpwuid_r`: safe
    /// from any thread).
    static func passwdEntry(_ uid: uid_t) -> (name: String, home: String?)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        let home = entry.pw_dir.map { String(cString: $0) }
        return (String(cString: name), home?.isEmpty == false ? home : nil)
    }

    /// `/proc/self/loginuid`, or `nil` where the kernel has no audit support.
    static func readLoginUID() -> UInt32? {
        guard let text = try? String(contentsOfFile: "/proc/self/loginuid", encoding: .utf8) else { return nil }
        return UInt32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
