import Logging
import Synchronization
import Testing

@testable import tidemark

/// Records the lines it is handed, with their metadata.
private struct RecordingHandler: LogHandler {
    let lines: Lines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    final class Lines: Sendable {
        let recorded = Mutex<[(message: String, metadata: Logger.Metadata?)]>([])
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.recorded.withLock { $0.append((event.message.description, event.metadata)) }
    }
}

@Suite struct DeferredMetadataLogHandlerTests {
    /// The logger's metadata reaches each line, under the provider's and the line's own values,
    /// the order `StreamLogHandler` merges in; the inner handler gets nothing of its own.
    @Test func eachLineCarriesTheMetadataInStreamLogHandlersOrder() {
        let lines = RecordingHandler.Lines()
        var inner = RecordingHandler(lines: lines)
        inner.metadataProvider = Logger.MetadataProvider { ["from": "provider", "provided": "p"] }
        var logger = Logger(label: "test") { _ in DeferredMetadataLogHandler(inner) }
        logger[metadataKey: "from"] = "logger"
        logger[metadataKey: "request"] = "r-1"
        logger.info("first")
        logger.info("second", metadata: ["from": "line"])
        logger[metadataKey: "request"] = "r-2"
        logger.info("third")

        let recorded = lines.recorded.withLock { $0 }
        #expect(recorded.map(\.message) == ["first", "second", "third"])
        #expect(recorded[0].metadata == ["from": "provider", "provided": "p", "request": "r-1"])
        #expect(recorded[1].metadata == ["from": "line", "provided": "p", "request": "r-1"])
        #expect(recorded[2].metadata?["request"] == "r-2", "a change of the logger's metadata shows on the next line")
    }

    @Test func theLevelFiltersLinesAndEmptyMetadataStaysNil() {
        let lines = RecordingHandler.Lines()
        var handler = DeferredMetadataLogHandler(RecordingHandler(lines: lines))
        handler.logLevel = .warning
        let logger = Logger(label: "test") { _ in handler }
        logger.info("dropped")
        logger.warning("kept")
        #expect(lines.recorded.withLock { $0.map(\.message) } == ["kept"])
        #expect(DeferredMetadataLogHandler<RecordingHandler>.merged(logger: [:], provided: [:], line: [:]) == nil)
    }
}
