import Hummingbird

/// What a request is told once its events are durable.
public struct CommitReceipt: Sendable, Equatable, Codable {
    public var accepted: Int
    public var duplicates: Int

    public init(accepted: Int, duplicates: Int) {
        self.accepted = accepted
        self.duplicates = duplicates
    }
}

extension CommitReceipt {
    /// The `200` answer, written by hand: it is sent for every ingest request and needs no encoder.
    var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = Self.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: json))
    }

    static let contentType = "application/json; charset=utf-8"

    /// The body of the `200` answer.
    var json: ByteBuffer {
        ByteBuffer(string: "{\"accepted\":\(accepted),\"duplicates\":\(duplicates)}")
    }
}

/// Why a request's events were not stored. None of these mean "maybe stored and acknowledged":
/// a refused request may be retried with the same ids and is then counted exactly once.
public enum IngestRefusal: Error, Sendable, Equatable {
    /// Too many events are waiting to be written.
    case overloaded
    /// PostgreSQL cannot be reached, or did not answer in time.
    case databaseUnavailable
    /// The server is stopping.
    case shuttingDown
    /// PostgreSQL refused the write for a reason other than reachability.
    case storageFailed(String)
}
