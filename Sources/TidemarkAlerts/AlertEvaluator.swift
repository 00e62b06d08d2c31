import Logging
import ServiceLifecycle
import Synchronization
import TidemarkEvents
import TidemarkSpeed

/// Judges stock against reorder points and records alert episodes: every
/// `evaluationInterval`, as soon as the speed layer has folded new events, and when woken
/// (reorder points were set). Nodes sharing the database may all run one; `AlertStore.apply`
/// lets one apply at a time and never an older view of the log after a newer one.
public final class AlertEvaluator: Service, Sendable {
    let speed: SpeedLayer
    let reader: StockReader
    let categories: ProductCategories
    let store: AlertStore
    let configuration: AlertsConfiguration
    let logger: Logger
    /// Called after an evaluation recorded transitions (the deliverer has notifications to send).
    let onTransitions: @Sendable () -> Void
    private let woken = Mutex(false)

    public init(
        speed: SpeedLayer, reader: StockReader, categories: ProductCategories, store: AlertStore,
        configuration: AlertsConfiguration, logger: Logger, onTransitions: @escaping @Sendable () -> Void = {}
    ) {
        self.speed = speed
        self.reader = reader
        self.categories = categories
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.onTransitions = onTransitions
    }

    /// Evaluate at the next check rather than at the next interval.
    public func wake() {
        woken.withLock { $0 = true }
    }

    public func run() async throws {
        var lastTail: Int64 = -1
        var lastRun = ContinuousClock.now - configuration.evaluationInterval
        var lastFailureLogged: ContinuousClock.Instant?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let tail = speed.tail
            let wokenNow = woken.withLock { flag in
                defer { flag = false }
                return flag
            }
            if speed.isCaughtUp && (tail != lastTail || wokenNow || lastRun.duration(to: .now) >= configuration.evaluationInterval) {
                do {
                    try await evaluate(throughSeq: tail)
                    lastTail = tail
                    lastFailureLogged = nil
                } catch {
                    if Task.isCancelled { break }
                    if lastFailureLogged.map({ $0.duration(to: .now) > .seconds(30) }) ?? true {
                        logger.warning("alerts cannot be evaluated; retrying", metadata: ["error": "\(String(reflecting: error))"])
                        lastFailureLogged = .now
                    }
                }
                lastRun = .now
            }
            try? await Task.sleep(for: configuration.changeCheckInterval)
        }
    }

    /// One evaluation from the log up to `seq` (read before the stock, so the answers hold at
    /// least every event up to it).
    public func evaluate(throughSeq seq: Int64) async throws {
        let (storeIDs, anyFiring) = try await store.watched()
        // Nothing watched and nothing to resolve: skip the reads (most servers without reorder points).
        guard !storeIDs.isEmpty || anyFiring else { return }
        let productCategories = try await categories.refreshed()
        let readings = try await reader.readings(storeIDs: storeIDs, now: .now())
        let applied = try await store.apply(throughSeq: seq, webhookURLs: configuration.webhook.urls) { table in
            AlertRules.conditions(readings, reorderPoints: table, categories: productCategories)
        }
        guard let applied, !(applied.fired.isEmpty && applied.resolved.isEmpty) else { return }
        logger.info(
            "alerts changed", metadata: ["fired": "\(applied.fired)", "resolved": "\(applied.resolved)", "through_seq": "\(seq)"])
        onTransitions()
    }
}
