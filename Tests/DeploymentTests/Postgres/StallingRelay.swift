import Foundation

/// A TCP relay on the loopback in front of the test server that passes a session's startup and
/// authentication, then drops whatever the client sends: a server that accepted the session and
/// then stopped answering (frozen, or gone with its host, its kernel not answering for it).
///
/// It serves one connection on one thread and stops by itself after `lifetime` seconds,
/// closing everything, so a test of code that would wait forever still ends.
final class StallingRelay: Sendable {
    let port: Int

    init(toPort serverPort: Int, lifetime: TimeInterval = 20) throws {
        let listener = try LoopbackListener()
        port = listener.port
        Thread.detachNewThread {
            Self.serve(listener: listener.descriptor, serverPort: serverPort, until: Date().addingTimeInterval(lifetime))
        }
    }

    private static func serve(listener: Int32, serverPort: Int, until deadline: Date) {
        defer { close(listener) }
        guard wait(for: listener, until: deadline) else { return }
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        defer { close(client) }
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(server) }
        var address = LoopbackListener.address(port: UInt16(serverPort))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return }
        var stalled = false
        var messages = ServerMessageScanner()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline {
            var descriptors = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            guard poll(&descriptors, 2, 100) >= 0 else { return }
            if descriptors[1].revents != 0 {
                let count = read(server, &buffer, buffer.count)
                guard count > 0 else { return }
                // The first ReadyForQuery ends the startup: from then on the client is not heard.
                if messages.scanForReadyForQuery(buffer[0..<count]) { stalled = true }
                guard write(client, buffer, count) == count else { return }
            }
            if descriptors[0].revents != 0 {
                let count = read(client, &buffer, buffer.count)
                guard count > 0 else { return }
                if !stalled { guard write(server, buffer, count) == count else { return } }
            }
        }
    }

    private static func wait(for descriptor: Int32, until deadline: Date) -> Bool {
        while Date() < deadline {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, 100) > 0 { return true }
        }
        return false
    }

    /// Splits the server's byte stream into its messages (a type byte, then a big-endian length
    /// that counts itself) across reads.
    private struct ServerMessageScanner {
        private var header: [UInt8] = []
        private var remaining = 0

        /// Whether a ReadyForQuery ('Z') message starts in `bytes`.
        mutating func scanForReadyForQuery(_ bytes: ArraySlice<UInt8>) -> Bool {
            var found = false
            var index = bytes.startIndex
            while index < bytes.endIndex {
                if remaining > 0 {
                    let skipped = min(remaining, bytes.endIndex - index)
                    remaining -= skipped
                    index += skipped
                    continue
                }
                header.append(bytes[index])
                index += 1
                if header.count == 5 {
                    if header[0] == UInt8(ascii: "Z") { found = true }
                    let length = header[1...4].reduce(0) { $0 << 8 | Int($1) }
                    remaining = max(length - 4, 0)
                    header = []
                }
            }
            return found
        }
    }
}

/// A listening TCP socket on 127.0.0.1 at a port the kernel chose. Nothing answers on it unless
/// its owner accepts: alone, a server that never answers the startup message.
struct LoopbackListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = Self.address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 4) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ready else { _ = Glibc.close(descriptor); throw POSIXError(.EADDRNOTAVAIL) }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    static func address(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }

    func close() { _ = Glibc.close(descriptor) }
}
