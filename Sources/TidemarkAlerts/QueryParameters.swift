import Hummingbird
import TidemarkAPI

/// The query string of the alerts routes, checked as the views' is: unknown or repeated
/// parameters are refused, so a typo does not silently widen an answer.
struct QueryParameters {
    private(set) var values: [String: String] = [:]

    init(_ request: Request, allowed: Set<String>) throws(APIError) {
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard allowed.contains(name) else {
                throw APIError(
                    .badRequest, code: "unknown_parameter",
                    message: "unknown query parameter '\(name)'; valid: \(allowed.sorted().joined(separator: ", "))", details: allowed.sorted())
            }
            guard values[name] == nil else {
                throw APIError(.badRequest, code: "repeated_parameter", message: "query parameter '\(name)' is given twice")
            }
            values[name] = String(value)
        }
    }

    /// Comma-separated values, nil when the parameter is absent.
    func list(_ name: String) throws(APIError) -> [String]? {
        guard let text = values[name] else { return nil }
        // PostgreSQL text cannot hold NUL, and no stored value has one.
        guard !text.utf8.contains(0) else {
            throw APIError(
                .badRequest, code: "invalid_filter", message: "filter '\(name)' contains the NUL character (%00), which no stored value has")
        }
        let items = text.split(separator: ",", omittingEmptySubsequences: true).map(String.init)
        guard !items.isEmpty else { throw APIError(.badRequest, code: "empty_filter", message: "filter '\(name)' needs at least one value") }
        return items
    }

    func limit(default value: Int, max: Int) throws(APIError) -> Int {
        guard let text = values["limit"] else { return value }
        guard let limit = Int(text), (1...max).contains(limit) else {
            throw APIError(.badRequest, code: "invalid_limit", message: "limit must be a whole number from 1 to \(max), not '\(text)'")
        }
        return limit
    }
}

extension RequestBody {
    /// The whole body, refused past `limit` bytes with the API's error shape.
    func collectWithinLimit(_ limit: Int) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        for try await part in self {
            guard collected.readableBytes + part.readableBytes <= limit else {
                throw APIError(.contentTooLarge, code: "body_too_large", message: "the body is larger than \(limit) bytes")
            }
            collected.writeImmutableBuffer(part)
        }
        return collected
    }
}
