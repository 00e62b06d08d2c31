import CompressNIO
import Foundation
import Hummingbird
import TidemarkAPI
import TidemarkEvents

/// `POST /v1/events`: decode, validate, group-commit, and answer only once durable.
///
/// Most requests of the usual shape are answered by `IngestFastPath` before they reach the
/// router; this controller answers the rest (compressed bodies, authentication not yet
/// cached, debug logging) and every error, with the same `IngestRequestReader`.
public struct EventsController<Context: RequestContext>: Sendable {
    public let committer: GroupCommitter
    public let reader: IngestRequestReader
    public var limits: IngestLimits { reader.limits }

    public init(committer: GroupCommitter, validator: EventValidator, limits: IngestLimits) {
        self.committer = committer
        self.reader = IngestRequestReader(validator: validator, limits: limits)
    }

    public func addRoutes(to group: RouterGroup<Context>) {
        group.post("events", use: post)
    }

    @Sendable func post(request: Request, context: Context) async throws -> Response {
        let format = try IngestRequestReader.bodyFormat(contentType: request.headers[.contentType])
        var body = try await collectBody(request)
        if let encoding = request.headers[.contentEncoding]?.lowercased(), encoding != "identity" {
            guard encoding == "gzip" || encoding == "x-gzip" else {
                throw APIError(
                    .unsupportedMediaType, code: "unsupported_encoding",
                    message: "Content-Encoding \"\(encoding)\" is not supported; use gzip or none")
            }
            body = try gunzip(&body)
        }
        let events = try reader.events(in: body, format: format)
        let receipt: CommitReceipt
        do {
            receipt = try await committer.submit(events)
        } catch let refusal as IngestRefusal {
            throw APIError(refusal)
        }
        return receipt.response
    }

    /// The whole body, within `maxBodyBytes` and `bodyReadTimeout`. A client that stops sending
    /// is cut off by the server's idle timeout; the deadline also stops one that trickles a
    /// byte at a time, which the idle timeout alone would let hold a connection for hours.
    private func collectBody(_ request: Request) async throws -> ByteBuffer {
        let deadline = ContinuousClock.now + limits.bodyReadTimeout
        var iterator = request.body.makeAsyncIterator()
        // The first buffer accumulates the rest, so a body that arrives in one piece is not copied.
        guard var body = try await iterator.next() else { return ByteBuffer() }
        while true {
            guard body.readableBytes <= limits.maxBodyBytes else {
                throw APIError(.contentTooLarge, code: "body_too_large", message: "the body is larger than \(limits.maxBodyBytes) bytes")
            }
            guard let next = try await iterator.next() else { return body }
            guard ContinuousClock.now < deadline else {
                throw APIError(
                    .requestTimeout, code: "body_timeout",
                    message: "the body did not arrive within \(limits.bodyReadTimeout.components.seconds) s; nothing was stored")
            }
            body.writeImmutableBuffer(next)
        }
    }

    private func gunzip(_ body: inout ByteBuffer) throws -> ByteBuffer {
        do {
            return try body.decompress(with: .gzip(), maxSize: limits.maxBodyBytes)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw APIError(
                .contentTooLarge, code: "body_too_large", message: "the body is larger than \(limits.maxBodyBytes) bytes once decompressed")
        } catch {
            throw APIError(.badRequest, code: "malformed_body", message: "the body is not valid gzip data")
        }
    }
}

extension APIError {
    init(_ refusal: IngestRefusal) {
        switch refusal {
        case .overloaded:
            self.init(
                .tooManyRequests, code: "overloaded", message: "too many events are waiting to be stored; retry with the same ids",
                retryAfterSeconds: 1)
        case .databaseUnavailable:
            self.init(
                .serviceUnavailable, code: "database_unavailable",
                message: "the database is unreachable or did not answer in time; the events may not have been stored; retry with the same ids",
                retryAfterSeconds: 2)
        case .shuttingDown:
            self.init(
                .serviceUnavailable, code: "shutting_down", message: "the server is stopping; nothing was stored; retry with the same ids",
                retryAfterSeconds: 2)
        case .storageFailed(let reason):
            self.init(.internalServerError, code: "storage_failed", message: "\(reason); nothing was stored")
        }
    }
}
