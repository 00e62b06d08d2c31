import Synchronization

/// Runs `operation` and returns its result, or throws `TimeoutError` once `limit` passes, or
/// `CancellationError` as soon as the calling task is cancelled.
///
/// Not a task group: a group waits for its children, and PostgresNIO's queries do not stop
/// when cancelled, so a hung server would hang the caller too. Here the operation runs in its
/// own task and is left to finish (or fail) after the caller has been answered; a result that
/// arrives too late goes to `discardLate`. A write that times out may therefore still commit;
/// its requests were refused, and their retries with the same ids count it once.
public func withTimeout<Result: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> Result,
    discardLate: @escaping @Sendable (Result) async -> Void = { _ in }
) async throws -> Result {
    let outcome = OneShot<Result>()
    let work = Task {
        do {
            let result = try await operation()
            if !outcome.finish(.success(result)) { await discardLate(result) }
        } catch {
            outcome.finish(.failure(error))
        }
    }
    let timer = Task {
        try await Task.sleep(for: limit)
        if outcome.finish(.failure(TimeoutError())) { work.cancel() }
    }
    return try await withTaskCancellationHandler {
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { outcome.install($0) }
    } onCancel: {
        if outcome.finish(.failure(CancellationError())) { work.cancel() }
    }
}

/// Delivers exactly one result, the first to arrive, to a continuation installed before or
/// after it arrives.
private final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var result: Result<Value, any Error>?
    }
    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<Value, any Error>) {
        let arrived = state.withLock { state -> Result<Value, any Error>? in
            if state.result == nil { state.continuation = continuation }
            return state.result
        }
        if let arrived { continuation.resume(with: arrived) }
    }

    /// - Returns: whether this call delivered the result (false if one arrived before).
    @discardableResult
    func finish(_ result: Result<Value, any Error>) -> Bool {
        let (delivered, continuation) = state.withLock { state -> (Bool, CheckedContinuation<Value, any Error>?) in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            defer { state.continuation = nil }
            return (true, state.continuation)
        }
        continuation?.resume(with: result)
        return delivered
    }
}

public struct TimeoutError: Error, CustomStringConvertible {
    public var description: String { "the database did not answer in time" }
}
