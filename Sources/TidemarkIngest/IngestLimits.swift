/// Limits of one `POST /v1/events` request.
public struct IngestLimits: Sendable {
    /// Most bytes of a body, both as sent and after gzip is undone.
    public var maxBodyBytes: Int = 16 * 1024 * 1024
    /// Most events in one request.
    public var maxEventsPerRequest: Int = 10_000
    /// Longest time a body may take to arrive, however steadily it trickles in.
    public var bodyReadTimeout: Duration = .seconds(60)

    public init() {}
}
