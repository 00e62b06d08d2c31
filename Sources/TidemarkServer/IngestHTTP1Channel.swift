import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import TidemarkIngest

/// Hummingbird's HTTP/1.1 channel with `IngestFastPath` in its pipeline, right after the
/// connection state handler (which then counts the requests the fast path answers, for the
/// idle timeout and graceful shutdown). `HTTP1Channel.Configuration`'s own extra handlers go
/// before that handler, hence this wrapper.
struct IngestHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let fastPath: IngestFastPathConfiguration

    var responder: Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { [fastPath] value in
            let operations = channel.pipeline.syncOperations
            let state = try operations.handler(type: HTTPConnectionStateHandler.self)
            try operations.addHandler(IngestFastPath(configuration: fastPath), position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// `.http1(configuration:)`, with `POST /v1/events` answered by `IngestFastPath` when given.
    static func http1(configuration: HTTP1Channel.Configuration, fastPath: IngestFastPathConfiguration?) -> HTTPServerBuilder {
        guard let fastPath else { return .http1(configuration: configuration) }
        return HTTPServerBuilder { responder in
            IngestHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration), fastPath: fastPath)
        }
    }
}
