import CoreMetrics
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes
import TidemarkAPI
import TidemarkEvents

/// What `IngestFastPath` needs from the server around it.
public struct IngestFastPathConfiguration: Sendable {
    public var committer: GroupCommitter
    public var reader: IngestRequestReader
    /// Whether a request's headers allow ingesting, decided without waiting (from what the
    /// API key cache knows, or because authentication is off). False hands the request to the
    /// router, whose `RequireScope` looks the key up.
    public var isAuthorized: @Sendable (HTTPFields) -> Bool
    /// Called once per request answered here (the router's request metrics), with when its
    /// head arrived.
    public var answered: @Sendable (ContinuousClock.Instant) -> Void
    /// The `Server` header of every answer, as the router sends it.
    public var serverName: String?
    public var metrics: IngestMetrics
    /// Larger bodies go to the router: decoding and validating run on the event loop, where
    /// a 64 KiB body (some 400 events) takes well under a millisecond.
    public var maxBodyBytes = 64 * 1024

    public init(
        committer: GroupCommitter, reader: IngestRequestReader, isAuthorized: @escaping @Sendable (HTTPFields) -> Bool,
        answered: @escaping @Sendable (ContinuousClock.Instant) -> Void, serverName: String?, metrics: IngestMetrics = .disabled
    ) {
        self.metrics = metrics
        self.committer = committer
        self.reader = reader
        self.isAuthorized = isAuthorized
        self.answered = answered
        self.serverName = serverName
    }
}

/// Answers the usual `POST /v1/events` on the connection's event loop, before the request
/// reaches Hummingbird's router; everything else passes through untouched.
///
/// Why: through the router each 1-event request costs three thread hand-offs between NIO's
/// event loop and the concurrency pool (the request to its handler task, the commit's answer
/// to that task, the response back to the event loop), and those, not the work, bounded run
/// A (BENCHMARKS.md). Here the body is decoded and validated on the event loop, handed to the
/// group commit with a callback, and the answer written from the event loop once the commit
/// is durable.
///
/// Only the success answer is written here. A request this path does not take (another route
/// or method, a compressed body, `Expect`, `Connection: close`, a body larger than
/// `maxBodyBytes` or not read whole with its head, credentials the cache cannot vouch for) and
/// one it cannot finish (invalid events, a refusal by the group commit) go to the router,
/// which then gives the one answer the API documents; a refused commit is simply submitted
/// again there, which the ids make safe. A body that takes more than one read goes to the
/// router too, so its deadline (`IngestLimits.bodyReadTimeout`) needs no timer here.
///
/// One connection's answers stay in request order: while a request is being committed, later
/// parts wait here, as do the end of the client's input and the HTTP decoder's errors (on
/// which the router's loop would close the connection), and once a part waits the connection
/// reads nothing more. While the router owes an answer every new request goes to the router
/// too, as does everything after a request the router answers with `Connection: close`.
///
/// It sits after Hummingbird's `HTTPConnectionStateHandler`, so the idle timeout and graceful
/// shutdown count the requests answered here as in progress.
public final class IngestFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// Reading a request this path takes.
        case collecting(HTTPRequest, EventBodyFormat, ByteBuffer?, started: ContinuousClock.Instant)
        /// Waiting for the group commit; the request is kept to hand to the router if refused.
        case committing(HTTPRequest, ByteBuffer?, started: ContinuousClock.Instant)
        /// The router reads the current request.
        case forwarding
    }

    private let configuration: IngestFastPathConfiguration
    private var state = State.idle
    /// Answers the router has yet to finish writing on this connection.
    private var routerAnswersOwed = 0
    /// Request parts that arrived while a commit was pending, in order.
    private var held: [HTTPRequestPart] = []
    /// Whether a read was asked for while a commit was pending.
    private var readHeld = false
    /// Whether the client closed its side while a commit was pending: passed on after the
    /// answer, or the router's loop would end the connection's output before it.
    private var inputClosedHeld = false
    /// An error from below (a request the HTTP decoder refused) while a commit was pending:
    /// passed on after the answer, for the same reason.
    private var errorHeld: (any Error)?
    /// A request with `Connection: close` went to the router: it closes the connection after
    /// answering, so whatever follows is the router's to ignore, not this path's to take.
    private var routerClosesConnection = false
    private var dates = HTTPDateCache()

    public init(configuration: IngestFastPathConfiguration) {
        self.configuration = configuration
    }

    private var isCommitting: Bool {
        if case .committing = state { return true }
        return false
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if isCommitting {
            held.append(part)
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            if routerAnswersOwed == 0, !routerClosesConnection, let format = takes(head) {
                state = .collecting(head, format, nil, started: .now)
            } else {
                forward(part, context: context)
            }
        case (.collecting(let head, let format, var body, let started), .body(let chunk)):
            let size = (body?.readableBytes ?? 0) + chunk.readableBytes
            guard size <= min(configuration.maxBodyBytes, configuration.reader.limits.maxBodyBytes) else {
                state = .idle
                forward(head, body, end: false, context: context)
                context.fireChannelRead(wrapInboundOut(part))
                return
            }
            // The first piece holds the rest, so a body that arrives in one piece is not copied
            // (and the state lets go of it first, so appending does not copy it either).
            state = .idle
            if body == nil {
                body = chunk
            } else {
                body!.writeImmutableBuffer(chunk)
            }
            state = .collecting(head, format, body, started: started)
        case (.collecting(let head, let format, let body, let started), .end):
            commit(head, format: format, body: body, started: started, context: context)
        case (.forwarding, .end):
            state = .idle
            context.fireChannelRead(wrapInboundOut(part))
        default:
            // The router's request goes on, or parts out of order, which the router refuses.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    /// The body's format when this path takes the request.
    private func takes(_ head: HTTPRequest) -> EventBodyFormat? {
        guard head.method == .post, head.path == "/v1/events" else { return nil }
        let fields = head.headerFields
        if let encoding = fields[.contentEncoding], encoding.lowercased() != "identity" { return nil }
        if fields[.expect] != nil { return nil }
        if head.asksToClose { return nil }
        guard let format = try? IngestRequestReader.bodyFormat(contentType: fields[.contentType]) else { return nil }
        guard configuration.isAuthorized(fields) else { return nil }
        return format
    }

    private func commit(
        _ head: HTTPRequest, format: EventBodyFormat, body: ByteBuffer?, started: ContinuousClock.Instant, context: ChannelHandlerContext
    ) {
        let events: [Event]
        do {
            events = try configuration.reader.events(in: body ?? ByteBuffer(), format: format)
        } catch {
            // The router answers with the error (it reads the body again: errors are rare).
            state = .idle
            forward(head, body, end: true, context: context)
            return
        }
        state = .committing(head, body, started: started)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        configuration.committer.submit(events) { result in
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                handler.committed(result, context: context)
            }
        }
    }

    private func committed(_ result: Result<CommitReceipt, any Error>, context: ChannelHandlerContext) {
        guard case .committing(let head, let body, let started) = state else { return }
        state = .idle
        guard context.channel.isActive else {
            // The client went away; the events are stored (or not) all the same.
            held = []
            return
        }
        var passedOn = false
        switch result {
        case .success(let receipt):
            answer(receipt, context: context)
            configuration.answered(started)
            configuration.metrics.fastPathAnswers.increment()
        case .failure:
            forward(head, body, end: true, context: context)
            passedOn = true
        }
        // Parts that arrived meanwhile, in order, until one starts another commit.
        var next = 0
        while next < held.count, !isCommitting {
            handle(held[next], context: context)
            next += 1
        }
        held.removeFirst(next)
        if case .collecting(let head, _, let body, _) = state {
            // Its read ended while it was held: as in `channelReadComplete`, the router reads the rest.
            forward(head, body, end: false, context: context)
        }
        if passedOn || next > 0 {
            // NIOAsyncChannel hands reads to the router's stream only at the end of a read.
            context.fireChannelReadComplete()
        }
        if !isCommitting, let error = errorHeld {
            errorHeld = nil
            context.fireErrorCaught(error)
        }
        if !isCommitting, inputClosedHeld {
            inputClosedHeld = false
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        if !isCommitting, readHeld {
            readHeld = false
            context.read()
        }
    }

    private func answer(_ receipt: CommitReceipt, context: ChannelHandlerContext) {
        let body = receipt.json
        var fields = HTTPFields()
        fields[.contentType] = CommitReceipt.contentType
        fields[.contentLength] = String(body.readableBytes)
        fields[.requestID] = RequestID().description
        fields[.date] = dates.now()
        if let serverName = configuration.serverName { fields[.server] = serverName }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func forward(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        routerAnswersOwed += 1
        if case .head(let head) = part, head.asksToClose {
            routerClosesConnection = true
        }
        state = .forwarding
        context.fireChannelRead(wrapInboundOut(part))
    }

    /// Hands a request read so far to the router: its head, its body, and its end if it came.
    private func forward(_ head: HTTPRequest, _ body: ByteBuffer?, end: Bool, context: ChannelHandlerContext) {
        forward(.head(head), context: context)
        if let body { context.fireChannelRead(wrapInboundOut(.body(body))) }
        if end {
            state = .idle
            context.fireChannelRead(wrapInboundOut(.end(nil)))
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if case .collecting(let head, _, let body, _) = state {
            // The body did not come with its head: the router reads the rest, within its deadline.
            forward(head, body, end: false, context: context)
        }
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isCommitting, let event = event as? ChannelEvent, event == .inputClosed {
            inputClosedHeld = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if isCommitting {
            // The first says what went wrong; the router's loop ends on it anyway.
            if errorHeld == nil { errorHeld = error }
        } else {
            context.fireErrorCaught(error)
        }
    }

    public func read(context: ChannelHandlerContext) {
        // Once a pipelined request waits behind the pending answer, no more of the connection
        // is read until that answer is written. Until then reads go on: a client that waits
        // for its answer sends nothing meanwhile, and stopping and restarting the socket's
        // reads cost two `epoll_ctl` calls per request.
        if isCommitting, !held.isEmpty {
            readHeld = true
        } else {
            context.read()
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only the router's answers pass here; this path writes its own from its context.
        if case .end = unwrapOutboundIn(data) { routerAnswersOwed -= 1 }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension IngestFastPath: Sendable {}

extension HTTPRequest {
    /// Whether the client asks to close the connection after this request's answer.
    fileprivate var asksToClose: Bool {
        headerFields[.connection]?.lowercased().contains("close") == true
    }
}
