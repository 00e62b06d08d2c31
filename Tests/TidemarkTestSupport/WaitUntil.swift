/// Polls `condition` until it holds, or throws once `timeout` passes: a test that waits
/// for a load or a server must fail, never hang the suite, when the awaited thing never comes.
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(120), every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(what: what, timeout: timeout) }
        try await Task.sleep(for: interval)
    }
}

public struct WaitTimedOut: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public init(what: String, timeout: Duration) {
        self.what = what
        self.timeout = timeout
    }
    public var description: String { "gave up after \(timeout) waiting until \(what)" }
}
