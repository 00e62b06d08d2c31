import CoreMetrics
import Metrics

/// What the ingest path counts and times. Built from a factory passed in (not the global
/// `MetricsSystem`), so each server, including the ones tests start side by side, has its own.
public struct IngestMetrics: Sendable {
    let accepted: Counter
    let duplicates: Counter
    let batchEvents: Recorder
    let commitDuration: Timer
    let refusals: Counter
    let fastPathAnswers: Counter

    public init(factory: any MetricsFactory) {
        accepted = Counter(label: "tidemark_events_accepted_total", dimensions: [], factory: factory)
        duplicates = Counter(label: "tidemark_events_duplicate_total", dimensions: [], factory: factory)
        batchEvents = Recorder(label: "tidemark_group_commit_batch_events", dimensions: [], aggregate: true, factory: factory)
        commitDuration = Timer(label: "tidemark_group_commit_duration_seconds", dimensions: [], factory: factory)
        refusals = Counter(label: "tidemark_group_commit_failures_total", dimensions: [], factory: factory)
        fastPathAnswers = Counter(label: "tidemark_ingest_fast_path_answers_total", dimensions: [], factory: factory)
    }

    /// Records nothing.
    public static let disabled = IngestMetrics(factory: NOOPMetricsHandler.instance)
}

extension Timer {
    /// Records the time since `start` on the continuous clock.
    public func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = start.duration(to: .now).components
        recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }
}
