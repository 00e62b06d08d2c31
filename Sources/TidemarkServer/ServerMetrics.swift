import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import Prometheus
import Synchronization
import TidemarkAPI
import TidemarkAlerts
import TidemarkBatch
import TidemarkEvents
import TidemarkIngest
import TidemarkRawLog
import TidemarkSpeed

/// The server's metrics: one Prometheus registry per server (passed in, not the global
/// `MetricsSystem`), fed through swift-metrics by the layers, plus gauges read at scrape time.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["tidemark_group_commit_batch_events"] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]
        self.factory = factory
    }

    /// Sets the gauges that describe state rather than events, then writes the text format.
    func scrape(committer: GroupCommitter, speed: SpeedLayer, client: PostgresClient, alerts: AlertStore, logger: Logger) async -> String {
        registry.makeGauge(name: "tidemark_group_commit_queue_events", labels: [], help: "Events waiting for a transaction")
            .set(Double(committer.queuedEvents))
        registry.makeGauge(name: "tidemark_database_available", labels: [], help: "1 while PostgreSQL answers the ingest path")
            .set(committer.isDatabaseAvailable ? 1.0 : 0.0)
        registry.makeGauge(name: "tidemark_speed_caught_up", labels: [], help: "1 once the speed layer has read the raw log")
            .set(speed.isCaughtUp ? 1.0 : 0.0)
        registry.makeGauge(name: "tidemark_speed_tail_seq", labels: [], help: "Highest raw-log seq the speed layer has read")
            .set(Double(speed.tail))
        let now = Timestamp.now().microsecondsSinceEpoch
        let served = speed.servedBatches
        for (view, size) in speed.sizes {
            let labels = [("view", view)]
            registry.makeGauge(name: "tidemark_speed_events", labels: labels, help: "Events held by the speed layer above the view's watermark")
                .set(Double(size.events))
            registry.makeGauge(name: "tidemark_speed_rows", labels: labels, help: "Rows (keys and buckets) the speed layer holds")
                .set(Double(size.rows))
            let batch = served[view] ?? nil
            registry.makeGauge(name: "tidemark_batch_watermark_seq", labels: labels, help: "Watermark of the batch served, 0 without one")
                .set(Double(batch?.watermark ?? 0))
            registry.makeGauge(
                name: "tidemark_batch_watermark_age_seconds", labels: labels, help: "Seconds since the served batch was published (-1 without one)"
            ).set(batch.map { Double(now - $0.publishedAtMicros) / 1e6 } ?? -1)
        }
        for (view, size) in speed.rolling.sizes {
            let labels = [("view", view)]
            registry.makeGauge(name: "tidemark_rolling_buckets", labels: labels, help: "Minute buckets the rolling windows hold (the last 48 hours)")
                .set(Double(size.buckets))
            registry.makeGauge(name: "tidemark_rolling_rows", labels: labels, help: "Rows (minutes and keys) the rolling windows hold")
                .set(Double(size.rows))
        }
        if let pages = Self.residentBytes() {
            registry.makeGauge(name: "tidemark_process_resident_bytes", labels: [], help: "Resident memory of the server process")
                .set(Double(pages))
        }
        await scrapeBatchRuns(client: client, logger: logger)
        await scrapeAlerts(alerts, logger: logger)
        return registry.emitToString()
    }

    /// Alerts are recorded by whichever node evaluates; their state is in PostgreSQL.
    private func scrapeAlerts(_ alerts: AlertStore, logger: Logger) async {
        do {
            let (firing, pending) = try await alerts.gauges()
            for (kind, count) in firing {
                registry.makeGauge(name: "tidemark_alerts_firing", labels: [("kind", kind.rawValue)], help: "Alert episodes firing now, by kind")
                    .set(Double(count))
            }
            registry.makeGauge(
                name: "tidemark_webhook_deliveries_pending", labels: [], help: "Webhook notifications neither delivered nor given up"
            ).set(Double(pending))
        } catch {
            logger.debug("alert metrics unavailable", metadata: ["error": "\(error)"])
        }
    }

    /// Batch runs happen in another process (cron); their record is in PostgreSQL.
    private func scrapeBatchRuns(client: PostgresClient, logger: Logger) async {
        do {
            let rows = try await client.boundedQuery(
                """
                SELECT status, count(*)::bigint,
                    coalesce(max(extract(epoch FROM finished_at - started_at)) FILTER (WHERE id = (SELECT max(id) FROM tidemark_batch_runs WHERE status = 'succeeded')), 0)::float8
                FROM tidemark_batch_runs GROUP BY status
                """, logger: logger)
            var lastDuration = 0.0
            for try await (status, count, duration) in rows.decode((String, Int64, Double).self) {
                registry.makeGauge(name: "tidemark_batch_runs", labels: [("status", status)], help: "Batch runs recorded, by status")
                    .set(Double(count))
                lastDuration = max(lastDuration, duration)
            }
            registry.makeGauge(name: "tidemark_batch_last_success_duration_seconds", labels: [], help: "Duration of the latest successful batch run")
                .set(lastDuration)
        } catch {
            logger.debug("batch run metrics unavailable", metadata: ["error": "\(error)"])
        }
    }

    private static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Counts requests by route and status, and times them by route. Also names the request's
/// id (the `hb.request.id` on every log line of the request) in `X-Request-Id`, and logs
/// server errors with it.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let handles: RequestMetricHandles

    init(handles: RequestMetricHandles) {
        self.handles = handles
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var status = 500
        defer {
            handles.metrics(route: context.endpointPath ?? "unmatched", method: request.method, status: status).record(since: started)
        }
        do {
            var response = try await next(request, context)
            status = response.status.code
            response.headers[.requestID] = context.id
            return response
        } catch let error as any HTTPResponseError {
            status = error.status.code
            if status >= 500 { context.logger.warning("request refused", metadata: ["status": "\(status)", "error": "\(error)"]) }
            // Answered here rather than by Hummingbird, so that error answers name the request id too.
            return try withRequestID(error.response(from: request, context: context), context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            // Hummingbird would answer an empty 500; this one has the API's error shape and the id to look for in the log.
            let failure = APIError(
                .internalServerError, code: "internal_error", message: "the server failed to answer; its log names the error with this request's id")
            return try withRequestID(failure.response(from: request, context: context), context)
        }
    }

    private func withRequestID(_ response: Response, _ context: Context) -> Response {
        var response = response
        response.headers[.requestID] = context.id
        return response
    }
}

/// The request counters and timers, made once per route, method and status: making them per
/// request sanitised their names and looked them up in the registry every time (about 1% of
/// the machine's CPU under 1-event ingests).
final class RequestMetricHandles: Sendable {
    struct Key: Hashable {
        var route: String
        var method: HTTPRequest.Method
        var status: Int
    }

    struct Handles: Sendable {
        let requests: CoreMetrics.Counter
        let duration: CoreMetrics.Timer

        /// One request answered, which started at `started`.
        func record(since started: ContinuousClock.Instant) {
            requests.increment()
            duration.recordInterval(since: started)
        }
    }

    private let factory: any MetricsFactory
    private let made = Mutex<[Key: Handles]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Methods outside HTTP's own are counted as one, so made-up ones cannot add series.
    private static let namedMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .delete, .connect, .options, .trace, .patch]

    func metrics(route: String, method: HTTPRequest.Method, status: Int) -> Handles {
        let method = Self.namedMethods.contains(method) ? method : HTTPRequest.Method("OTHER")!
        let key = Key(route: route, method: method, status: status)
        if let handles = made.withLock({ $0[key] }) { return handles }
        let dimensions = [("route", route), ("method", method.rawValue), ("status", String(status))]
        let handles = Handles(
            requests: CoreMetrics.Counter(label: "tidemark_http_requests_total", dimensions: dimensions, factory: factory),
            duration: CoreMetrics.Timer(label: "tidemark_http_request_duration_seconds", dimensions: [("route", route)], factory: factory))
        // Routes are the router's patterns, methods HTTP's nine and statuses a few dozen codes.
        made.withLock { $0[key] = handles }
        return handles
    }
}
