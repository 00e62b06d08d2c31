import Synchronization

/// Runs `operation` and returns its result, or throws `TimeoutError` once `limit` passes.
///
/// Not a task group: a group waits for its children, and PostgresNIO's queries do not stop
/// when cancelled, so a hung server would hang the caller too. Here the operation runs in its
/// own task and is left to finish (or fail) after the caller has been answered. A write that
/// times out may therefore still commit; its requests were refused, and their retries with
/// the same ids count it once.
func withTimeout<Result: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let outcome = OneShot<Result>()
    return try await withCheckedThrowingContinuation { continuation in
        outcome.install(continuation)
        let work = Task {
            do {
                outcome.finish(.success(try await operation()))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        let timer = Task {
            try await Task.sleep(for: limit)
            if outcome.finish(.failure(TimeoutError())) { work.cancel() }
        }
        outcome.onFinish { timer.cancel() }
    }
}

/// Resumes a continuation exactly once, with whichever result arrives first.
private final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var finished = false
        var cleanup: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<Value, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.finished { return true }
            state.cleanup = cleanup
            return false
        }
        if runNow { cleanup() }
    }

    /// - Returns: whether this call delivered the result (false if one was delivered before).
    @discardableResult
    func finish(_ result: Result<Value, any Error>) -> Bool {
        let (continuation, cleanup) = state.withLock { state -> (CheckedContinuation<Value, any Error>?, (@Sendable () -> Void)?) in
            guard !state.finished else { return (nil, nil) }
            state.finished = true
            defer {
                state.continuation = nil
                state.cleanup = nil
            }
            return (state.continuation, state.cleanup)
        }
        guard let continuation else { return false }
        continuation.resume(with: result)
        cleanup?()
        return true
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var description: String { "the database did not answer in time" }
}
