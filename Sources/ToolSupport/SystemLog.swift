#if canImport(Glibc)
import Glibc
#endif

/// The system log (syslog protocol over the local datagram socket that journald and rsyslog
/// read, /dev/log): activations, refusals, forced takeovers and fencing are recorded there too,
/// not only in the deployment's database, so that they reach the host's log collection even when
/// the database is what failed. Messages name servers, epochs and reasons, never secrets.
///
/// `MIIS_SYSLOG_SOCKET` names another socket (a test's, or a container's relay). When the socket
/// is missing or refuses the message, nothing is logged and nothing is reported: the system log
/// is a copy, and a tool must not fail for it.
package enum SystemLog {
    /// RFC 5424 severities used by the tools.
    package enum Severity: Int32, Sendable {
        case error = 3
        case warning = 4
        case notice = 5
    }

    /// Facility `auth` (4): security and authorization events.
    static let facility: Int32 = 4

    /// Sends `message` under the running tool's name (``ToolIdentity``), e.g.
    /// `<36>Dec  2 04:10:00 miisactivate[4242]: activation refused: ...`.
    package static func send(_ message: String, severity: Severity) {
        let path = environmentValue("MIIS_SYSLOG_SOCKET") ?? "/dev/log"
        let line = format(message, severity: severity, tag: ToolIdentity.name, pid: getpid(), time: time(nil))
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard bytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let data = Array(line.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, data, data.count, Int32(MSG_NOSIGNAL), socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// RFC 3164's form, the one /dev/log readers parse: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`,
    /// the message escaped to one line (``TerminalText/escaped(_:)``).
    static func format(_ message: String, severity: Severity, tag: String, pid: pid_t, time: time_t) -> String {
        var seconds = time
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%b %e %H:%M:%S", &parts)
        let stamp = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "<\(facility * 8 + severity.rawValue)>\(stamp) \(tag)[\(pid)]: \(TerminalText.escaped(message))"
    }

    private static func environmentValue(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}
