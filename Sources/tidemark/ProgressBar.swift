import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A one-line progress bar on standard error; plain periodic lines when stderr is not a terminal.
final class ProgressBar: Sendable {
    private let enabled: Bool
    private let isTerminal: Bool
    private let lastShownTenth = Mutex(-1)

    init(enabled: Bool) {
        self.enabled = enabled
        self.isTerminal = isatty(2) == 1
    }

    func update(done: Int, total: Int, elapsed: Duration) {
        guard enabled, total > 0 else { return }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Int(Double(done) / seconds) : 0
        if isTerminal {
            let width = 30
            let filled = width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(100 * done / total)% \(done)/\(total) events, \(rate)/s   ".utf8))
        } else {
            let tenth = 10 * done / total
            let shouldPrint = lastShownTenth.withLock { last in
                guard tenth > last else { return false }
                last = tenth
                return true
            }
            if shouldPrint {
                FileHandle.standardError.write(Data("progress: \(10 * tenth)% (\(done)/\(total) events, \(rate)/s)\n".utf8))
            }
        }
    }

    func finish() {
        if enabled, isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
