import Foundation

/// Exit statuses and messages collected from concurrent runs.
final class StatusBox: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [(status: Int32, message: String)] = []
    func append(_ status: Int32, _ message: String) {
        lock.withLock { collected.append((status, message)) }
    }
    /// Each status with the message it was appended with, in the order they came.
    var entries: [(status: Int32, message: String)] { lock.withLock { collected } }
    var values: [Int32] { entries.map(\.status) }
    var messages: String { entries.map { "\($0.status): \($0.message)" }.joined(separator: " | ") }
}
