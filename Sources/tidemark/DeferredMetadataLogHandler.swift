import Logging

/// Keeps the logger's metadata as given and hands it to `inner` only when a line is written.
///
/// Hummingbird sets `hb.request.id` on every request's logger, and `StreamLogHandler` renders
/// its whole metadata again on every such change, logged or not: about 1.5% of the server's
/// CPU on 1-event ingests at `--log-level warning`, where almost nothing is written.
struct DeferredMetadataLogHandler<Inner: LogHandler>: LogHandler {
    /// Its own metadata stays empty; every line carries the metadata explicitly.
    private var inner: Inner
    var metadata: Logger.Metadata = [:]

    init(_ inner: Inner) {
        self.inner = inner
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        // The line's own metadata wins over the logger's, as in `StreamLogHandler`.
        if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { _, line in line } }
        inner.log(event: event)
    }
}
