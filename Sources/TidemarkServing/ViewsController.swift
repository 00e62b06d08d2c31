import CoreMetrics
import HTTPTypes
import Hummingbird
import TidemarkAPI
import TidemarkEvents
import TidemarkPipelines

/// `GET /v1/views`, `GET /v1/views/{view}` and `GET /v1/stock`.
public struct ViewsController<Context: RequestContext>: Sendable {
    let catalog: PipelineCatalog
    let engine: QueryEngine
    let parser: ViewRequestParser
    let renderer = AnswerRenderer()
    let metrics: any MetricsFactory
    /// For `below=reorder`; without it that filter is refused.
    let reorderPoints: (any ReorderPointLookup)?

    public init(
        catalog: PipelineCatalog, engine: QueryEngine, metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        reorderPoints: (any ReorderPointLookup)? = nil
    ) {
        self.catalog = catalog
        self.engine = engine
        self.parser = ViewRequestParser(catalog: catalog)
        self.metrics = metrics
        self.reorderPoints = reorderPoints
    }

    public func addRoutes(to group: RouterGroup<Context>) {
        group.get("views") { _, _ in try jsonResponse(ViewList(views: catalog.views.map(ViewDescription.init))) }
        group.get("views/:view") { request, context in
            let definition = try parser.view(named: try context.parameters.require("view"))
            let (query, order, format) = try parser.parse(view: definition, parameters: Self.parameters(request), now: .now())
            return try await respond(definition, query, order, format)
        }
        group.get("stock") { request, _ in
            guard let definition = catalog.views.first(where: { $0.name == "stock_levels" }) ?? catalog.views.first(where: \.hasOnHand) else {
                throw APIError(.notFound, code: "no_stock_view", message: "no view in Pipelines/ has an on_hand measure")
            }
            var parameters = Self.parameters(request)
            var below: StockThreshold?
            if let index = parameters.firstIndex(where: { $0.key == "below" }) {
                below = try StockThreshold(parameters.remove(at: index).value)
            }
            var (query, order, format) = try parser.parse(view: definition, parameters: parameters, now: .now())
            query.groupBy = definition.keys
            var answer = try await answerOrUnavailable(definition, query, order)
            if let below, let index = definition.measures.firstIndex(where: { $0.kind == .onHand }) {
                let threshold = try await threshold(below, keys: definition.keys)
                answer.rows.removeAll { row in threshold(row.keys).map { (row.values[index] ?? 0) >= $0 } ?? true }
            }
            return try render(answer, format)
        }
    }

    /// The number a stock row's on hand must be below, by the row's keys; nil leaves the row out.
    private func threshold(_ below: StockThreshold, keys: [KeyField]) async throws -> ([String]) -> Int64? {
        switch below {
        case .units(let units):
            return { _ in units }
        case .reorderPoint:
            guard let reorderPoints else {
                throw APIError(.badRequest, code: "invalid_below", message: "this server has no reorder points, so below=reorder does not apply")
            }
            guard let store = keys.firstIndex(of: .storeID), let product = keys.firstIndex(of: .productID) else { return { _ in nil } }
            let lookup: @Sendable (String, String) -> Int64?
            do {
                lookup = try await reorderPoints.reorderPoints()
            } catch {
                throw APIError(
                    .serviceUnavailable, code: "database_unavailable", message: "reorder points cannot be read from PostgreSQL right now",
                    retryAfterSeconds: 2)
            }
            return { keys in lookup(keys[store], keys[product]) }
        }
    }

    /// Answers larger than this need an explicit `limit`: a forgotten filter on an hourly
    /// view over years would otherwise build a response of millions of rows.
    static var maxRows: Int { 100_000 }

    static func parameters(_ request: Request) -> [(key: String, value: String)] {
        request.uri.queryParameters.map { (String($0.key), String($0.value)) }
    }

    func respond(_ definition: PipelineDefinition, _ query: ViewQuery, _ order: AnswerOrder, _ format: AnswerFormat) async throws -> Response {
        try render(try await answerOrUnavailable(definition, query, order), format)
    }

    func answerOrUnavailable(_ definition: PipelineDefinition, _ query: ViewQuery, _ order: AnswerOrder) async throws -> ViewAnswer {
        let answer: ViewAnswer
        let started = ContinuousClock.now
        defer {
            let elapsed = started.duration(to: .now).components
            Timer(label: "tidemark_query_duration_seconds", dimensions: [("view", definition.name)], factory: metrics)
                .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        }
        do {
            answer = try await engine.answer(definition, query, order: order)
        } catch let error as QueryEngine.Unavailable {
            throw APIError(.serviceUnavailable, code: "batch_switching", message: error.description, retryAfterSeconds: 1)
        } catch is CancellationError {
            throw CancellationError()
        } catch  where DatabaseFailure.isOutage(error) {
            // The batch part comes from PostgreSQL; without it there is no exact answer to give.
            throw APIError(
                .serviceUnavailable, code: "database_unavailable", message: "the batch views cannot be read from PostgreSQL right now",
                retryAfterSeconds: 2)
        } catch {
            // PostgreSQL refused the query itself: a fault to log and fix, not an outage to wait out.
            throw APIError(
                .internalServerError, code: "query_failed",
                message: "the view could not be read: the server logged why, under this request's X-Request-Id",
                logDetail: String(reflecting: error))
        }
        guard answer.rows.count <= Self.maxRows || order.limit != nil else {
            throw APIError(
                .badRequest, code: "too_many_rows",
                message:
                    "the answer has \(answer.rows.count) rows, more than \(Self.maxRows); narrow it with from/to, a coarser grain, group_by or filters, or set limit"
            )
        }
        return answer
    }

    func render(_ answer: ViewAnswer, _ format: AnswerFormat) throws -> Response {
        format.response(
            filename: answer.definition.name, json: { renderer.json(answer) }, csv: { renderer.csv(answer) },
            headers: [HTTPField.Name("X-Tidemark-Watermark")!: String(answer.watermark)])
    }
}

/// `below=` of `GET /v1/stock`: a number of units, or each row's own reorder point.
enum StockThreshold {
    case units(Int64)
    case reorderPoint

    init(_ text: String) throws(APIError) {
        if text == "reorder" {
            self = .reorderPoint
        } else if let units = Int64(text) {
            self = .units(units)
        } else {
            throw APIError(
                .badRequest, code: "invalid_below",
                message:
                    "below must be a whole number of units (on hand strictly below it) or 'reorder' (below each row's reorder point), not '\(text)'")
        }
    }
}

struct ViewList: Encodable {
    var views: [ViewDescription]
}

struct ViewDescription: Encodable {
    struct Measure: Encodable {
        var name: String
        var kind: String
        var type: String
    }

    var name: String
    var description: String
    var grain: String
    var grains: [String]
    var keys: [String]
    var events: [String]
    var measures: [Measure]

    init(_ definition: PipelineDefinition) {
        name = definition.name
        description = definition.description
        grain = definition.grain.rawValue
        grains = QueryGrain.allowed(for: definition.grain).map(\.name)
        keys = definition.keys.map(\.rawValue)
        events = definition.source.types.map(\.rawValue).sorted()
        measures = definition.measures.map { Measure(name: $0.name, kind: $0.kind.name, type: $0.valueType.rawValue) }
    }
}
