import NIOCore

/// Runs a task's jobs on one NIO event loop: a task that prefers it (`withTaskExecutorPreference`)
/// is resumed by that loop directly when an answer arrives there, with no hand-off to the
/// concurrency pool. NIO itself offers an event loop only as an actor's serial executor.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
