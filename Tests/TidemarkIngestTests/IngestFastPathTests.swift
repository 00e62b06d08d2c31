import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing
import TidemarkAPI
import TidemarkEvents
import TidemarkIngest
import TidemarkTestSupport

/// Counts the reads the fast path lets through toward the socket.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = HTTPResponsePart
    let reads: Locked<Int>
    init(reads: Locked<Int>) { self.reads = reads }

    func read(context: ChannelHandlerContext) {
        reads.withLock { $0 += 1 }
        context.read()
    }
}

/// Passes reads on only at the end of each read from the socket, as NIOAsyncChannel hands them
/// to the router: parts the fast path forwards must be followed by a `channelReadComplete`.
final class ReadCompleteGate: ChannelInboundHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    private var pending: [NIOAny] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.append(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let released = pending
        pending = []
        for data in released { context.fireChannelRead(data) }
        context.fireChannelReadComplete()
    }
}

/// Records the user events and errors that reach the router.
final class UserEventRecorder: ChannelInboundHandler {
    typealias InboundIn = HTTPRequestPart
    let seen: Locked<[String]>
    init(seen: Locked<[String]>) { self.seen = seen }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        seen.withLock { $0.append("\(event)") }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        seen.withLock { $0.append("error: \(error)") }
    }
}

struct MalformedRequest: Error {}

/// `IngestFastPath` in a test channel over a running group commit: what it answers itself, what
/// it hands to the router (the channel's inbound end), and in which order. The same requests
/// over real HTTP are in the integration tests.
@Suite(.timeLimit(.minutes(1))) struct IngestFastPathTests {
    struct Harness {
        let channel: NIOAsyncTestingChannel
        let store: FlakyStore
        let reads: Locked<Int>
        let userEvents: Locked<[String]>

        /// Delivers the parts as one read from the socket (one `channelReadComplete` after them).
        func deliver(_ parts: [HTTPRequestPart]) async throws {
            try await channel.testingEventLoop.executeInContext {
                for part in parts { channel.pipeline.fireChannelRead(part) }
                channel.pipeline.fireChannelReadComplete()
            }
        }

        /// Delivers `request` in one read and expects the router to get it unchanged, with
        /// nothing answered or stored here.
        func expectRouterGets(_ request: [HTTPRequestPart], _ comment: Comment? = nil) async throws {
            try await deliver(request)
            #expect(try await forwarded() == request, comment)
            #expect(try await channel.readOutbound(as: HTTPResponsePart.self) == nil, comment)
            #expect(store.stored.value.isEmpty, comment)
        }

        /// What reached the router, in order.
        func forwarded() async throws -> [HTTPRequestPart] {
            var parts: [HTTPRequestPart] = []
            while let part = try await channel.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
            return parts
        }

        /// One whole answer the fast path wrote: its head and its body.
        func answer() async throws -> (HTTPResponse, String) {
            guard case .head(let head) = try await channel.waitForOutboundWrite(as: HTTPResponsePart.self) else {
                Issue.record("the answer did not start with its head")
                throw CancellationError()
            }
            var text = ""
            while true {
                switch try await channel.waitForOutboundWrite(as: HTTPResponsePart.self) {
                case .body(let buffer): text += String(buffer: buffer)
                case .end: return (head, text)
                case .head: Issue.record("a second head inside one answer")
                }
            }
        }
    }

    func withFastPath(
        authorized: Bool = true, maxBodyBytes: Int = 64 * 1024, limits: IngestLimits = IngestLimits(),
        _ body: @Sendable (Harness) async throws -> Void
    ) async throws {
        let store = FlakyStore()
        var commitConfiguration = GroupCommitConfiguration()
        commitConfiguration.probeInterval = .milliseconds(10)
        let committer = GroupCommitter(store: store, configuration: commitConfiguration, logger: Logger(label: "test"))
        var configuration = IngestFastPathConfiguration(
            committer: committer, reader: IngestRequestReader(validator: EventValidator(rules: ValidationRules()), limits: limits),
            isAuthorized: { _ in authorized }, answered: { _ in }, serverName: "tidemark")
        configuration.maxBodyBytes = maxBodyBytes
        let reads = Locked(0)
        let userEvents = Locked<[String]>([])
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext { [configuration] in
            try channel.pipeline.syncOperations.addHandler(ReadCounter(reads: reads))
            try channel.pipeline.syncOperations.addHandler(IngestFastPath(configuration: configuration))
            try channel.pipeline.syncOperations.addHandler(ReadCompleteGate())
            try channel.pipeline.syncOperations.addHandler(UserEventRecorder(seen: userEvents))
        }
        try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 8080)).get()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await committer.run() }
            try await body(Harness(channel: channel, store: store, reads: reads, userEvents: userEvents))
            group.cancelAll()
        }
    }

    static func post(
        _ body: String, path: String = "/v1/events", contentType: String = "application/json", extra: HTTPFields = [:]
    ) -> [HTTPRequestPart] {
        var fields = extra
        fields[.contentType] = contentType
        let head = HTTPRequest(method: .post, scheme: nil, authority: "localhost", path: path, headerFields: fields)
        return [.head(head), .body(ByteBuffer(string: body)), .end(nil)]
    }

    @Test func answersAValidRequestOnceCommitted() async throws {
        try await withFastPath { harness in
            try await harness.deliver(Self.post(Sample.saleJSON(id: "fp-1")))
            let (head, body) = try await harness.answer()
            #expect(head.status == .ok)
            #expect(body == #"{"accepted":1,"duplicates":0}"#)
            #expect(head.headerFields[.contentType] == "application/json; charset=utf-8")
            #expect(head.headerFields[.contentLength] == String(body.utf8.count))
            #expect(head.headerFields[.requestID]?.isEmpty == false)
            #expect(head.headerFields[.server] == "tidemark")
            // An IMF-fixdate of now, as Foundation reads one.
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            formatter.timeZone = TimeZone(identifier: "GMT")
            let date = try #require(head.headerFields[.date].flatMap(formatter.date(from:)), "\(head.headerFields)")
            #expect(abs(date.timeIntervalSinceNow) < 5)
            #expect(harness.store.stored.value == ["fp-1"])
            #expect(try await harness.forwarded().isEmpty, "the router saw nothing")

            try await harness.deliver(Self.post(Sample.saleJSON(id: "fp-1")))
            #expect(try await harness.answer().1 == #"{"accepted":0,"duplicates":1}"#)
        }
    }

    /// What the fast path does not take reaches the router unchanged, and nothing is stored.
    @Test(arguments: [
        ("another route", Self.post(Sample.saleJSON(id: "r-1"), path: "/v1/views/sales")),
        ("a compressed body", Self.post(Sample.saleJSON(id: "r-2"), extra: [.contentEncoding: "gzip"])),
        ("Connection: close", Self.post(Sample.saleJSON(id: "r-3"), extra: [.connection: "close"])),
        ("Expect: 100-continue", Self.post(Sample.saleJSON(id: "r-4"), extra: [.expect: "100-continue"])),
        ("an unsupported media type", Self.post(Sample.saleJSON(id: "r-5"), contentType: "text/plain")),
        ("an invalid event", Self.post(Sample.saleJSON(id: "r-6", overriding: ["quantity": 0]))),
        ("a body that is no JSON", Self.post("{\"id\":")),
    ])
    func handsTheRouterWhatItDoesNotTake(_ name: String, _ request: [HTTPRequestPart]) async throws {
        try await withFastPath { harness in try await harness.expectRouterGets(request, "\(name)") }
    }

    @Test func credentialsTheCacheCannotVouchForGoToTheRouter() async throws {
        try await withFastPath(authorized: false) { harness in try await harness.expectRouterGets(Self.post(Sample.saleJSON(id: "auth-1"))) }
    }

    /// A body that does not arrive with its head (a slow client) is left to the router, which
    /// enforces the body deadline; so is one larger than the fast path's limit.
    @Test func slowOrLargeBodiesGoToTheRouter() async throws {
        try await withFastPath { harness in
            let json = Sample.saleJSON(id: "slow-1")
            let cut = json.index(json.startIndex, offsetBy: 10)
            let parts = Self.post(json)
            try await harness.deliver([parts[0], .body(ByteBuffer(string: String(json[..<cut])))])
            try await harness.deliver([.body(ByteBuffer(string: String(json[cut...]))), .end(nil)])
            var received = ByteBuffer()
            let forwarded = try await harness.forwarded()
            #expect(forwarded.first == parts[0])
            #expect(forwarded.last == .end(nil))
            for case .body(let piece) in forwarded { received.writeImmutableBuffer(piece) }
            #expect(String(buffer: received) == json)
            #expect(harness.store.stored.value.isEmpty)
        }
        try await withFastPath(maxBodyBytes: 50) { harness in try await harness.expectRouterGets(Self.post(Sample.saleJSON(id: "large-1"))) }
        // The server's own body limit, when lower, counts too: the router refuses with 413.
        var limits = IngestLimits()
        limits.maxBodyBytes = 50
        try await withFastPath(limits: limits) { harness in try await harness.expectRouterGets(Self.post(Sample.saleJSON(id: "large-2"))) }
    }

    /// A commit that fails is not answered here: the router gets the request whole and gives
    /// the documented refusal (it submits again, which the ids make safe).
    @Test func aFailedCommitGoesToTheRouter() async throws {
        try await withFastPath { harness in
            harness.store.reachable.withLock { $0 = false }
            let request = Self.post(Sample.saleJSON(id: "down-1"))
            try await harness.deliver(request)
            var forwarded: [HTTPRequestPart] = []
            try await waitUntil("the request reaches the router", timeout: .seconds(20)) {
                forwarded += try await harness.forwarded()
                return forwarded.count >= request.count
            }
            #expect(forwarded == request)
            #expect(try await harness.channel.readOutbound(as: HTTPResponsePart.self) == nil)
        }
    }

    /// Answers keep the order of their requests: a pipelined request that arrives while one
    /// commits waits for the first answer, and from then on the connection reads no more.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withFastPath { harness in
            harness.store.hangs.withLock { $0 = true }
            try await harness.deliver(Self.post(Sample.saleJSON(id: "p-1")))
            harness.channel.read()
            try await waitUntil("reads go on while nothing waits behind the commit", timeout: .seconds(20)) { harness.reads.value == 1 }
            try await harness.deliver(Self.post(Sample.saleJSON(id: "p-1")) + Self.post(Sample.saleJSON(id: "p-2")))
            harness.channel.read()
            try await Task.sleep(for: .milliseconds(50))
            #expect(harness.reads.value == 1, "no read while pipelined requests wait for the pending answer")
            #expect(try await harness.channel.readOutbound(as: HTTPResponsePart.self) == nil)
            #expect(try await harness.forwarded().isEmpty)

            harness.store.hangs.withLock { $0 = false }
            #expect(try await harness.answer().1 == #"{"accepted":1,"duplicates":0}"#)
            #expect(try await harness.answer().1 == #"{"accepted":0,"duplicates":1}"#)
            #expect(try await harness.answer().1 == #"{"accepted":1,"duplicates":0}"#)
            #expect(harness.store.stored.value == ["p-1", "p-2"])
            try await waitUntil("the held read is passed on", timeout: .seconds(20)) { harness.reads.value == 2 }
        }
    }

    /// A client that closes its side right after sending still gets its answer: the router's
    /// loop, which ends the connection's output once the input ends, hears of it only after.
    @Test func aClosedInputWaitsForThePendingAnswer() async throws {
        try await expectHeldUntilTheAnswer("\(ChannelEvent.inputClosed)") { $0.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
    }

    /// A decoder error right after a request being committed (a malformed pipelined request)
    /// reaches the router only after that request's answer, since the router then answers
    /// `400` and closes the connection.
    @Test func anErrorWaitsForThePendingAnswer() async throws {
        try await expectHeldUntilTheAnswer("error: MalformedRequest()") { $0.fireErrorCaught(MalformedRequest()) }
    }

    /// Fires what `fire` fires while a commit is pending, and expects the router to see it
    /// (recorded as `seen`) only after the answer.
    func expectHeldUntilTheAnswer(_ seen: String, fire: @escaping @Sendable (ChannelPipeline) -> Void) async throws {
        try await withFastPath { harness in
            harness.store.hangs.withLock { $0 = true }
            try await harness.deliver(Self.post(Sample.saleJSON(id: "held-1")))
            try await harness.channel.testingEventLoop.executeInContext { fire(harness.channel.pipeline) }
            try await Task.sleep(for: .milliseconds(50))
            #expect(harness.userEvents.value.isEmpty, "passed on before the answer")
            harness.store.hangs.withLock { $0 = false }
            #expect(try await harness.answer().1 == #"{"accepted":1,"duplicates":0}"#)
            try await waitUntil("\(seen) is passed on", timeout: .seconds(20)) { harness.userEvents.value == [seen] }
        }
    }

    /// A pipelined request whose body had not all arrived when the pending commit ended goes to
    /// the router, like any body that does not come with its head.
    @Test func aHeldRequestWithPartOfItsBodyGoesToTheRouter() async throws {
        try await withFastPath { harness in
            harness.store.hangs.withLock { $0 = true }
            try await harness.deliver(Self.post(Sample.saleJSON(id: "hp-1")))
            let json = Sample.saleJSON(id: "hp-2")
            let cut = json.index(json.startIndex, offsetBy: 10)
            let second = Self.post(json)
            try await harness.deliver([second[0], .body(ByteBuffer(string: String(json[..<cut])))])
            harness.store.hangs.withLock { $0 = false }
            #expect(try await harness.answer().1 == #"{"accepted":1,"duplicates":0}"#)
            try await harness.deliver([.body(ByteBuffer(string: String(json[cut...]))), .end(nil)])
            var forwarded: [HTTPRequestPart] = []
            try await waitUntil("the second request reaches the router", timeout: .seconds(20)) {
                forwarded += try await harness.forwarded()
                return forwarded.last == .end(nil)
            }
            #expect(forwarded.first == second[0])
            #expect(harness.store.stored.value == ["hp-1"])
        }
    }

    /// After a request with `Connection: close`, which the router answers and then closes the
    /// connection on, nothing more is taken here.
    @Test func nothingIsTakenAfterTheRouterWasAskedToClose() async throws {
        try await withFastPath { harness in
            let closing = HTTPRequest(method: .get, scheme: nil, authority: "localhost", path: "/healthz", headerFields: [.connection: "close"])
            try await harness.deliver([.head(closing), .end(nil)])
            try await harness.channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try await harness.channel.writeOutbound(HTTPResponsePart.end(nil))
            let late = Self.post(Sample.saleJSON(id: "late-1"))
            try await harness.deliver(late)
            #expect(try await harness.forwarded() == [.head(closing), .end(nil)] + late)
            #expect(harness.store.stored.value.isEmpty)
        }
    }

    /// While the router owes an answer on the connection, new requests go to the router too,
    /// so that answers cannot overtake it; once it has answered, the fast path takes over again.
    @Test func requestsFollowTheRouterWhileItOwesAnAnswer() async throws {
        try await withFastPath { harness in
            let health = HTTPRequest(method: .get, scheme: nil, authority: "localhost", path: "/healthz")
            try await harness.deliver([.head(health), .end(nil)])
            let ingest = Self.post(Sample.saleJSON(id: "o-1"))
            try await harness.deliver(ingest)
            #expect(try await harness.forwarded() == [.head(health), .end(nil)] + ingest)

            for _ in 0..<2 {
                try await harness.channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
                try await harness.channel.writeOutbound(HTTPResponsePart.end(nil))
            }
            while try await harness.channel.readOutbound(as: HTTPResponsePart.self) != nil {}

            try await harness.deliver(Self.post(Sample.saleJSON(id: "o-2")))
            #expect(try await harness.answer().1 == #"{"accepted":1,"duplicates":0}"#)
            #expect(harness.store.stored.value == ["o-2"], "o-1 was the router's to submit")
        }
    }
}
