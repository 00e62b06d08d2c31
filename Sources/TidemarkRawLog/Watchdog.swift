import Synchronization

/// Deadlines for many short waits, checked by one task on a fixed tick instead of one timer per
/// wait.
///
/// Why: a group commit under 1-event requests runs about 700 transactions a second, and each
/// guarded its write with a sleeping timer task (the write timeout) and a second one watching
/// the connection lease. Those timers cost about a seventh of the server's CPU per request
/// (BENCHMARKS.md). Here a deadline costs two short lock holds; the ticking task runs only while
/// something is watched, and a deadline fires up to `resolution` late.
public final class Watchdog: Sendable {
    public let resolution: Duration
    /// Empty ticks after which the ticking task ends (the next watch starts another).
    private let idleTicksBeforeStop = 20
    private let state = Mutex(State())

    private struct State {
        var watches: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        var isTicking = false
    }

    private struct Entry {
        var deadline: ContinuousClock.Instant
        var fire: @Sendable () -> Void
    }

    public init(resolution: Duration = .milliseconds(50)) {
        precondition(resolution > .zero, "a watchdog needs a positive resolution")
        self.resolution = resolution
    }

    /// Calls `fire` once, on the watchdog's task, when `delay` has passed (up to `resolution`
    /// later), unless the returned watch is cancelled first.
    public func watch(for delay: Duration, fire: @escaping @Sendable () -> Void) -> Watch {
        let deadline = ContinuousClock.now + delay
        let (id, startTicking) = state.withLock { state -> (UInt64, Bool) in
            let id = state.nextID
            state.nextID += 1
            state.watches[id] = Entry(deadline: deadline, fire: fire)
            defer { state.isTicking = true }
            return (id, !state.isTicking)
        }
        if startTicking { Task { await self.tick() } }
        return Watch(id: id, watchdog: self)
    }

    /// Stops one watch; harmless after it fired or was cancelled. A watch that is firing at
    /// that moment still fires (`fire` runs outside the watchdog's lock), so `fire` must check
    /// for itself whether its work is still wanted.
    public struct Watch: Sendable {
        let id: UInt64
        let watchdog: Watchdog

        public func cancel() {
            _ = watchdog.state.withLock { $0.watches.removeValue(forKey: id) }
        }
    }

    /// Watches still waiting (for tests).
    public var pendingWatches: Int { state.withLock { $0.watches.count } }

    private func tick() async {
        var idleTicks = 0
        while true {
            // Not cancellable and not a child of anyone: a deadline must fire even when the
            // task that set it was cancelled.
            try? await Task.sleep(for: resolution)
            let now = ContinuousClock.now
            let (due, stop) = state.withLock { state -> ([Entry], Bool) in
                let dueIDs = state.watches.compactMap { $0.value.deadline <= now ? $0.key : nil }
                let due = dueIDs.compactMap { state.watches.removeValue(forKey: $0) }
                idleTicks = state.watches.isEmpty ? idleTicks + 1 : 0
                if idleTicks >= idleTicksBeforeStop {
                    state.isTicking = false
                    return (due, true)
                }
                return (due, false)
            }
            for entry in due { entry.fire() }
            if stop { return }
        }
    }
}
