import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr, drawn only when stderr is a terminal, redrawn at most
/// ten times a second, and erased when done.
final class ProgressBar {
    private let total: Int
    private let enabled: Bool
    private var lastDraw: ContinuousClock.Instant?
    private var drawn = false

    init(total: Int, enabled: Bool = TerminalPrompt.standardErrorIsTerminal) {
        self.total = total
        self.enabled = enabled && total > 1
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let now = ContinuousClock.now
        if done != total, let lastDraw, now - lastDraw <= .milliseconds(100) { return }
        lastDraw = now
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        fflush(nil)
        StandardStreams.error("\r[\(bar)] \(done)/\(total)")
        drawn = true
    }

    /// Erases the bar before a line is printed to the same terminal; a later update redraws it
    /// (still at most ten times a second).
    func erase() {
        guard drawn else { return }
        fflush(nil)
        StandardStreams.error("\r\u{1B}[K")
        drawn = false
    }

    func finish() { erase() }
}
