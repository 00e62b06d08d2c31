import Foundation
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import TidemarkAPI
import TidemarkEvents

/// `PUT /v1/reorder-points` (admin), `GET /v1/reorder-points` and `GET /v1/alerts` (query).
public struct AlertsController<Context: RequestContext>: Sendable {
    let reorderPoints: ReorderPointStore
    let alerts: AlertStore
    /// Reorder points changed: evaluate now rather than at the next interval.
    let onReorderPointsChanged: @Sendable () -> Void

    /// A request may set this many reorder points; more go in several requests or a file.
    static var maxEntries: Int { 10_000 }
    static var maxBodyBytes: Int { 4 << 20 }
    static var maxLimit: Int { 100_000 }

    public init(reorderPoints: ReorderPointStore, alerts: AlertStore, onReorderPointsChanged: @escaping @Sendable () -> Void = {}) {
        self.reorderPoints = reorderPoints
        self.alerts = alerts
        self.onReorderPointsChanged = onReorderPointsChanged
    }

    public func addRoutes(query: RouterGroup<Context>, admin: RouterGroup<Context>) {
        admin.put("reorder-points", use: putReorderPoints)
        query.get("reorder-points", use: getReorderPoints)
        query.get("alerts", use: getAlerts)
    }

    @Sendable func putReorderPoints(request: Request, context: Context) async throws -> Response {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            throw APIError(
                .unsupportedMediaType, code: "unsupported_media_type",
                message: "Content-Type \(mediaType.map { "\"\($0)\"" } ?? "none") is not accepted; send a JSON array as application/json")
        }
        let body = try await request.body.collectWithinLimit(Self.maxBodyBytes)
        let entries: [LooseObject]
        do {
            entries = try JSONDecoder().decode([LooseObject].self, from: Data(buffer: body, byteTransferStrategy: .noCopy))
        } catch {
            throw APIError(
                .badRequest, code: "malformed_body",
                message: "the body must be a JSON array of reorder points ({store_id, product_id or category, reorder_point, lead_time_hours})")
        }
        guard entries.count <= Self.maxEntries else {
            throw APIError(
                .contentTooLarge, code: "too_many_entries",
                message: "a request may set at most \(Self.maxEntries) reorder points, this one has \(entries.count)")
        }
        switch ReorderPointValidator().validate(entries) {
        case .failure(let invalid):
            let count = Set(invalid.issues.map(\.index)).count
            throw APIError(
                .unprocessableContent, code: "invalid_reorder_points",
                message: "\(count) of \(entries.count) reorder points are invalid; nothing was stored", details: invalid.issues)
        case .success(let points):
            try await unavailableOnFailure(context) { try await reorderPoints.upsert(points) }
            onReorderPointsChanged()
            return try jsonResponse(["stored": points.count])
        }
    }

    @Sendable func getReorderPoints(request: Request, context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["store_id", "limit"])
        let storeIDs = try parameters.list("store_id")
        let limit = try parameters.limit(default: Self.maxLimit, max: Self.maxLimit)
        let stored = try await unavailableOnFailure(context) { try await reorderPoints.list(storeIDs: storeIDs, limit: limit) }
        return try jsonResponse(ReorderPointList(reorderPoints: stored.map(ReorderPointBody.init)))
    }

    @Sendable func getAlerts(request: Request, context: Context) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["state", "store_id", "product_id", "kind", "limit"])
        var filter = AlertStore.Filter()
        switch parameters.values["state"] ?? "firing" {
        case "all": filter.state = nil
        case let text:
            guard let state = Alert.State(rawValue: text) else {
                throw APIError(
                    .badRequest, code: "invalid_state", message: "state must be firing, resolved or all, not '\(text)'",
                    details: ["firing", "resolved", "all"])
            }
            filter.state = state
        }
        filter.storeIDs = try parameters.list("store_id")
        filter.productIDs = try parameters.list("product_id")
        if let kinds = try parameters.list("kind") {
            filter.kinds = try kinds.map { name in
                guard let kind = AlertKind(rawValue: name) else {
                    let valid = AlertKind.allCases.map(\.rawValue)
                    throw APIError(
                        .badRequest, code: "invalid_kind", message: "kind '\(name)' is not one of \(valid.joined(separator: ", "))", details: valid)
                }
                return kind
            }
        }
        filter.limit = try parameters.limit(default: 1_000, max: Self.maxLimit)
        let found = try await unavailableOnFailure(context) { [filter] in try await alerts.list(filter) }
        return try jsonResponse(AlertList(alerts: found.map(AlertBody.init)))
    }

    private func unavailableOnFailure<Result>(_ context: Context, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.logger.warning("alerts storage failed", metadata: ["error": "\(String(reflecting: error))"])
            throw APIError(
                .serviceUnavailable, code: "database_unavailable", message: "PostgreSQL cannot be reached right now", retryAfterSeconds: 2)
        }
    }
}

struct ReorderPointList: Encodable {
    var reorderPoints: [ReorderPointBody]
    enum CodingKeys: String, CodingKey { case reorderPoints = "reorder_points" }
}

struct AlertList: Encodable {
    var alerts: [AlertBody]
}

/// A stored reorder point as JSON: `product_id` or `category` set, the other null.
struct ReorderPointBody: Encodable {
    var stored: StoredReorderPoint

    init(_ stored: StoredReorderPoint) { self.stored = stored }

    enum CodingKeys: String, CodingKey {
        case storeID = "store_id"
        case productID = "product_id"
        case category
        case reorderPoint = "reorder_point"
        case leadTimeHours = "lead_time_hours"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stored.point.storeID, forKey: .storeID)
        try container.encode(stored.point.productID, forKey: .productID)
        try container.encode(stored.point.category, forKey: .category)
        try container.encode(stored.point.reorderPoint, forKey: .reorderPoint)
        try container.encode(stored.point.leadTimeHours, forKey: .leadTimeHours)
        try container.encode(stored.updatedAt.rfc3339, forKey: .updatedAt)
    }
}
