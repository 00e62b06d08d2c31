import Foundation
import Hummingbird

/// An error answered as `{"error": {"code", "message", "details"}}`, the one error shape of the API.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// A stable, machine-readable name such as `invalid_events`.
    public var code: String
    public var message: String
    public var details: [any Encodable & Sendable]
    /// Seconds, sent as `Retry-After` on `429` and `503`.
    public var retryAfterSeconds: Int?
    /// What went wrong inside, for the server's log only: never sent to the client.
    public var logDetail: String?
    /// Sent with the answer, such as `Allow` on `405`.
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, code: String, message: String, details: [any Encodable & Sendable] = [],
        retryAfterSeconds: Int? = nil, logDetail: String? = nil, headers: HTTPFields = [:]
    ) {
        self.logDetail = logDetail
        self.headers = headers
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retryAfterSeconds = retryAfterSeconds
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        let body = try JSONEncoder.api.encode(Envelope(error: Body(code: code, message: message, details: details.map(AnyEncodable.init))))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private struct Envelope: Encodable {
        var error: Body
    }

    private struct Body: Encodable {
        var code: String
        var message: String
        var details: [AnyEncodable]
    }

    private struct AnyEncodable: Encodable {
        var value: any Encodable
        init(_ value: any Encodable & Sendable) { self.value = value }
        func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    }
}

extension JSONEncoder {
    /// Stable key order, so answers diff cleanly and tests can compare text.
    public static var api: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// Answers any `Encodable` value as JSON with the API's encoder settings.
public func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let body = try JSONEncoder.api.encode(value)
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
}
