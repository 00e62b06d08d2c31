import CoreMetrics
import HTTPTypes
import Hummingbird
import TidemarkAPI
import TidemarkPipelines
import TidemarkSpeed

/// `GET /v1/rolling/{view}`: exact sliding windows of the last 24 hours at one-minute
/// resolution, each compared with the window of the same length before it.
public struct RollingController<Context: RequestContext>: Sendable {
    let parser: RollingRequestParser
    let engine: RollingEngine
    let renderer = RollingRenderer()
    let metrics: any MetricsFactory

    public init(rolling: RollingStore, metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.parser = RollingRequestParser(catalog: rolling.catalog)
        self.engine = RollingEngine(rolling: rolling)
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<Context>) {
        group.get("rolling/:view") { request, context in
            let definition = try parser.view(named: try context.parameters.require("view"))
            let (rollingRequest, format) = try parser.parse(
                view: definition, parameters: ViewsController<Context>.parameters(request), now: engine.rolling.now())
            return try render(try answer(rollingRequest), format)
        }
    }

    func answer(_ request: RollingRequest) throws(APIError) -> RollingAnswer {
        let started = ContinuousClock.now
        defer {
            let elapsed = started.duration(to: .now).components
            Timer(label: "tidemark_rolling_query_duration_seconds", dimensions: [("view", request.definition.name)], factory: metrics)
                .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        }
        guard let answer = engine.answer(request) else {
            throw APIError(
                .serviceUnavailable, code: "not_ready", message: "the rolling windows are still being read from the raw log", retryAfterSeconds: 1)
        }
        guard answer.totalRows <= ViewsController<Context>.maxRows || request.limit != nil else {
            throw APIError(
                .badRequest, code: "too_many_rows",
                message:
                    "the answer has \(answer.totalRows) rows, more than \(ViewsController<Context>.maxRows); narrow it with group_by or filters, or set limit"
            )
        }
        return answer
    }

    func render(_ answer: RollingAnswer, _ format: AnswerFormat) throws -> Response {
        format.response(
            filename: answer.request.definition.name + "-rolling", json: { renderer.json(answer) }, csv: { renderer.csv(answer) })
    }
}
