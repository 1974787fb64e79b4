import Foundation
import Testing

/// A datagram socket standing in for /dev/log: the messages a tool sent, as syslog reads them.
final class SyslogListener {
    let path: String
    private let descriptor: Int32
    private let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory("syslog")
        path = directory.file("log")
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
    }

    /// Every datagram received so far.
    func messages() -> [String] {
        var result: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count > 0 else { return result }
            result.append(String(decoding: buffer.prefix(count), as: UTF8.self))
        }
    }

    deinit { close(descriptor) }
}

/// Activations, refusals, forced takeovers and fencing go to the system log too (issue 18), in
/// syslog's form (`<PRI>timestamp TAG[PID]: message`, facility auth), without secrets.
@Suite struct SystemLogTests {
    /// `<PRI>Mmm dd hh:mm:ss TAG[PID]: ` then the message.
    static func parse(_ datagram: String) -> (priority: Int, tag: String, message: String)? {
        guard let match = datagram.wholeMatch(of: /<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ([a-z]+)\[\d+\]: (.*)/) else { return nil }
        return (Int(match.output.1) ?? -1, String(match.output.2), String(match.output.3))
    }

    @Test func activationsRefusalsTakeoversAndFencingAreLogged() throws {
        let listener = try SyslogListener()
        let deployment = try DeploymentFixture(lease: 1)
        let environment = ["MIIS_SYSLOG_SOCKET": listener.path]
        _ = try deployment.miisserver("sync1", ["heartbeat"])
        // Refused: the primary is alive.
        let refused = try deployment.activate("sync2", environment: environment)
        #expect(refused.status == 26, "\(refused.stderr)")
        // Forced takeover, then the old primary finds itself fenced.
        let forced = try deployment.activate("sync2", extra: ["--force", "--reason", "sync1's disk failed"], environment: environment)
        #expect(forced.status == 0, "\(forced.stderr)")
        let fenced = try ToolRunner.run("miisserver", ["heartbeat", "--install-dir", deployment.installDirectory("sync1")], environment: environment)
        #expect(fenced.status == 28)
        // A plain activation back to sync1 after sync2 falls silent.
        Thread.sleep(forTimeInterval: 1.5)
        let back = try deployment.activate("sync1", environment: environment)
        #expect(back.status == 0, "\(back.stderr)")

        let messages = listener.messages()
        let parsed = messages.compactMap(Self.parse)
        #expect(parsed.count == messages.count, "\(messages)")
        #expect(parsed.count == 4, "\(messages)")
        guard parsed.count == 4 else { return }
        // facility auth (4): priority 4 * 8 + severity.
        #expect(parsed[0].priority == 36 && parsed[0].tag == "miisactivate")
        #expect(parsed[0].message.hasPrefix("activation refused (exit 26): "), "\(parsed[0].message)")
        #expect(parsed[1].priority == 36 && parsed[1].tag == "miisactivate")
        #expect(parsed[1].message == "forced takeover: activated 'sync2' replacing 'sync1' at epoch 2; reason: sync1's disk failed")
        #expect(parsed[2].priority == 35 && parsed[2].tag == "miisserver")
        #expect(parsed[2].message.hasPrefix("refused (fenced, exit 28): server 'sync1' is fenced"), "\(parsed[2].message)")
        #expect(parsed[3].priority == 37 && parsed[3].tag == "miisactivate")
        #expect(parsed[3].message == "activated 'sync1' replacing 'sync2' at epoch 3")
        #expect(!messages.joined().contains(DeploymentFixture.password))
    }

    /// No socket: the tools log nothing and say nothing about it.
    @Test func aMissingSocketIsSkippedSilently() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync2", extra: ["--force", "--reason", "test"],
                                             environment: ["MIIS_SYSLOG_SOCKET": deployment.root.file("no-such-socket")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("socket") && !result.stderr.contains("syslog") && !result.stderr.contains("log:"), "\(result.stderr)")
    }
}
