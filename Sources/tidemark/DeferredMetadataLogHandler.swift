import Logging

/// Keeps the logger's metadata as given and hands it to `inner` only when a line is written.
///
/// Hummingbird sets `hb.request.id` on every request's logger, and `StreamLogHandler` renders
/// its whole metadata again on every such change, logged or not: about 1.8% of the machine's
/// CPU under 1-event ingests at `--log-level warning`, where almost nothing is written.
struct DeferredMetadataLogHandler<Inner: LogHandler>: LogHandler {
    /// Its own metadata and provider stay empty; every line carries the metadata explicitly.
    private var inner: Inner
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(_ inner: Inner) {
        self.inner = inner
        self.metadataProvider = inner.metadataProvider
        self.inner.metadataProvider = nil
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.metadata = Self.merged(logger: metadata, provided: metadataProvider?.get() ?? [:], line: event.metadata ?? [:])
        inner.log(event: event)
    }

    /// The order `StreamLogHandler` merges in: the provider's values over the logger's, and the
    /// line's own over both.
    static func merged(logger: Logger.Metadata, provided: Logger.Metadata, line: Logger.Metadata) -> Logger.Metadata? {
        if provided.isEmpty && line.isEmpty { return logger.isEmpty ? nil : logger }
        var metadata = logger
        metadata.merge(provided) { _, provided in provided }
        metadata.merge(line) { _, line in line }
        return metadata
    }
}
