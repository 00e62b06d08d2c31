import Dispatch
import Foundation
import NIOCore
import PostgresNIO
import Testing
import TidemarkIngest
import TidemarkServer
import TidemarkTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Input written to break the server: every answer is a clear 4xx, the server stays up, and
/// nothing is stored that should not be.
@Suite struct HostileInputTests {
    static let sale = #""id":"h","type":"sale","occurred_at":"2026-11-20T10:00:00Z","store_id":"S1","product_id":"P1""#

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var body: [UInt8]
        var contentType = "application/json"
        var status: Int
        var mentions: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "100,000 nested arrays", body: Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8),
            status: 400, mentions: "nested"),
        Case(
            name: "a field nested 5,000 deep",
            body: Array(("{\"id\":" + String(repeating: "{\"a\":", count: 5_000) + "1" + String(repeating: "}", count: 5_001)).utf8),
            status: 400, mentions: "nested"),
        Case(
            name: "invalid UTF-8 in a string",
            body: Array("{\(sale),\"quantity\":1,\"unit_price_cents\":1,\"category\":\"a".utf8) + [0xFF, 0xFE] + Array("\"}".utf8),
            status: 400, mentions: "UTF-8"),
        Case(
            name: "invalid UTF-8 on an NDJSON line",
            body: Array("{\(sale),\"quantity\":1,\"unit_price_cents\":1}\n{\"id\":\"x".utf8) + [0xC0, 0xAF] + Array("\"}\n".utf8),
            contentType: "application/x-ndjson", status: 400, mentions: "line 2"),
        Case(
            name: "a 26-digit quantity", body: Array("{\(sale),\"quantity\":99999999999999999999999999,\"unit_price_cents\":1}".utf8),
            status: 422, mentions: "whole number within 64 bits"),
        Case(
            name: "a quantity of 1e400", body: Array("{\(sale),\"quantity\":1e400,\"unit_price_cents\":1}".utf8),
            status: 422, mentions: "whole number within 64 bits"),
        Case(
            name: "a price of -9223372036854775808", body: Array("{\(sale),\"quantity\":1,\"unit_price_cents\":-9223372036854775808}".utf8),
            status: 422, mentions: "at least 0"),
        Case(
            name: "an unknown field", body: Array("{\(sale),\"quantity\":1,\"unit_price_cents\":1,\"is_admin\":true}".utf8),
            status: 422, mentions: "not a known field"),
        Case(
            name: "a NUL character in a key",
            body: Array("{\(sale.replacingOccurrences(of: "\"S1\"", with: "\"S\\u0000\"")),\"quantity\":1,\"unit_price_cents\":1}".utf8),
            status: 422, mentions: "NUL"),
        Case(
            name: "a 1 MB category",
            body: Array("{\(sale),\"quantity\":1,\"unit_price_cents\":1,\"category\":\"\(String(repeating: "x", count: 1 << 20))\"}".utf8),
            status: 422, mentions: "at most 128"),
        Case(name: "a bare number", body: Array("42".utf8), status: 422, mentions: "object"),
        Case(name: "null", body: Array("null".utf8), status: 422, mentions: "object"),
        Case(name: "an array of strings", body: Array("[\"DROP TABLE events\"]".utf8), status: 422, mentions: "object"),
        Case(
            name: "10,001 events", body: Array(("[" + Array(repeating: "{}", count: 10_001).joined(separator: ",") + "]").utf8),
            status: 413, mentions: "at most 10000 events"),
    ]

    @Test(arguments: cases)
    func hostileBodiesAnswerAClear4xx(_ hostile: Case) async throws {
        try await TestServer.run { server in
            let answer = try await server.http.post("/v1/events", body: ByteBuffer(bytes: hostile.body), contentType: hostile.contentType)
            #expect(answer.status == hostile.status, "\(answer.text.prefix(300))")
            #expect(answer.text.contains(hostile.mentions), "\(answer.text.prefix(300))")
            #expect(answer.errorCode != nil, "an error body with a code")
            #expect(try await server.eventCount() == 0)
            #expect(try await server.http.get("/healthz").status == 200)
        }
    }

    /// SQL in every string field is data: stored verbatim, found by exact filters, and harmless.
    @Test func sqlInEveryStringFieldIsStoredVerbatim() async throws {
        let injections = [
            "id": "x'); DROP TABLE events; --", "store_id": "S1' OR '1'='1", "product_id": "P\\\"; SELECT pg_sleep(5); --",
            "category": "a' UNION SELECT * FROM tidemark_api_keys --", "customer_id": "$$; TRUNCATE events; $$",
            "order_id": "1; COPY events TO '/tmp/x'", "channel": "\\x27 OR 1=1",
        ]
        var fields: [String: Any?] = ["type": "sale", "occurred_at": "2026-11-20T10:00:00Z", "quantity": 3, "unit_price_cents": 100]
        for (key, value) in injections { fields[key] = value }
        let event = Sample.json(fields)
        try await TestServer.run { server in
            let posted = try await server.http.post("/v1/events", text: event)
            #expect(posted.status == 200, "\(posted.text)")
            #expect(posted.json["accepted"] as? Int == 1)
            let again = try await server.http.post("/v1/events", text: event)
            #expect(again.json["duplicates"] as? Int == 1)

            let rows = try await server.database.query(
                "SELECT id, store_id, product_id, category, customer_id, order_id, channel FROM events", logger: TestServer.quietLogger
            ).collect()
            #expect(rows.count == 1)
            let stored = try #require(rows.first).decode((String, String, String, String, String, String, String).self)
            #expect(stored.0 == injections["id"])
            #expect(stored.1 == injections["store_id"])
            #expect(stored.2 == injections["product_id"])
            #expect(stored.3 == injections["category"])
            #expect(stored.4 == injections["customer_id"])
            #expect(stored.5 == injections["order_id"])
            #expect(stored.6 == injections["channel"])
            #expect(try await server.database.scalar("SELECT count(*)::bigint FROM tidemark_api_keys") == 0)

            // The same strings as filters find exactly that row, through the speed layer.
            let store = try #require(injections["store_id"]?.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            let product = try #require(injections["product_id"]?.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            let deadline = ContinuousClock.now + .seconds(10)
            var units: Int?
            while ContinuousClock.now < deadline {
                let answer = try await server.http.get("/v1/views/sales_by_product_hour?store_id=\(store)&product_id=\(product)")
                #expect(answer.status == 200)
                units = (answer.json["rows"] as? [[String: Any]])?.first?["units_sold"] as? Int
                if units != nil { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(units == 3)
        }
    }

    /// SQL and junk in every query parameter: 400 naming the parameter, or an empty answer
    /// (but for `below`, where -1 is a fair question); never a server error.
    @Test func sqlInEveryQueryParameterNeverReachesTheDatabase() async throws {
        let payloads = ["' OR '1'='1", "1; DROP TABLE events; --", "%00", "%FF%FE", String(repeating: "9", count: 400), "-1", "NaN"]
        let parameters = ["from", "to", "grain", "group_by", "order_by", "limit", "format", "store_id", "product_id", "below"]
        try await TestServer.run { server in
            #expect(try await server.http.post("/v1/events", text: Sample.saleJSON(id: "keep-me")).status == 200)
            for parameter in parameters {
                for payload in payloads {
                    let value = payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? payload
                    let path = parameter == "below" ? "/v1/stock?below=\(value)" : "/v1/views/sales_by_product_hour?\(parameter)=\(value)"
                    let answer = try await server.http.get(path)
                    #expect([200, 400].contains(answer.status), "\(path): \(answer.status) \(answer.text.prefix(200))")
                    if answer.status == 400 { #expect(answer.errorCode != nil, "\(path)") }
                    if answer.status == 200, parameter != "below" {
                        #expect((answer.json["rows"] as? [Any])?.isEmpty == true, "\(path) matched rows")
                    }
                }
            }
            for view in ["'; DROP TABLE events; --", "..%2F..%2Fetc%2Fpasswd", String(repeating: "v", count: 5_000)] {
                let answer = try await server.http.get("/v1/views/\(view.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? view)")
                #expect(answer.status == 400 || answer.status == 404, "\(answer.status)")
            }
            #expect(try await server.eventCount() == 1)
        }
    }

    /// Clients that send headers or a body too slowly are cut off, and meanwhile others are served.
    @Test func slowClientsAreCutOffAndOthersAreServed() async throws {
        try await TestServer.run(configure: {
            $0.idleTimeout = .seconds(5)
            $0.ingestLimits.bodyReadTimeout = .seconds(2)
        }) { server in
            let port = try #require(URLComponents(string: server.http.baseURL)?.port)
            // Ten clients that never finish their headers, and one that trickles its body.
            let stalled = try (0..<10).map { _ in try RawConnection(port: port) }
            for connection in stalled { try connection.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: applica") }
            let trickler = try RawConnection(port: port)
            let body = Sample.saleJSON(id: "slow")
            try trickler.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            let trickled = Task.detached {
                for character in body {
                    try? trickler.send(String(character))
                    try? await Task.sleep(for: .milliseconds(150))
                }
            }

            // Served while the slow clients still hold their connections: not after them.
            #expect(try await server.http.post("/v1/events", text: Sample.saleJSON(id: "prompt")).status == 200)
            #expect(stalled.allSatisfy { $0.isOpen }, "a normal client was served only once the slow ones were cut off")

            // One generous deadline for all ten: on a busy CI machine the idle timer may fire late.
            let deadline = ContinuousClock.now + .seconds(60)
            for (index, connection) in stalled.enumerated() {
                let reply = await connection.receiveUntilClosed(timeout: max(.seconds(1), deadline - .now))
                #expect(reply.closed, "the server closes connection \(index) whose headers never end")
            }
            let reply = await trickler.receiveUntilClosed(timeout: .seconds(4))
            #expect(reply.text.hasPrefix("HTTP/1.1 408"), "\(reply.text.prefix(200))")
            #expect(reply.text.contains("body_timeout"))
            trickled.cancel()
            #expect(try await server.database.scalar("SELECT count(*)::bigint FROM events WHERE id = 'slow'") == 0)
            #expect(try await server.eventCount() == 1)
        }
    }
}

/// A plain TCP connection to the test server, for clients no HTTP library would imitate.
/// Blocking socket calls run on a Dispatch queue, off the concurrency pool.
final class RawConnection: Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard descriptor >= 0, connected == 0 else { throw POSIXFailure(what: "connect to 127.0.0.1:\(port)") }
    }

    deinit { close(descriptor) }

    struct POSIXFailure: Error {
        var what: String
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw POSIXFailure(what: "send") }
    }

    /// Ends the client's side (a half-close): the server still reads what was sent and answers.
    func closeWriting() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Sends one `POST /v1/events` in a single write, half-closes, and returns what came back.
    /// HTTP libraries may write a request's head and body separately, and the server then
    /// reads them apart, which the ingest fast path leaves to the router; this does not.
    static func postEvents(port: Int, json: String, headers: [String] = []) async throws -> String {
        let connection = try RawConnection(port: port)
        try connection.send(eventsRequest(json: json, headers: headers))
        connection.closeWriting()
        return await connection.receiveUntilClosed(timeout: .seconds(60)).text
    }

    /// The text of a `POST /v1/events` with a JSON body.
    static func eventsRequest(json: String, headers: [String] = []) -> String {
        let extra = headers.map { $0 + "\r\n" }.joined()
        return "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\(extra)Content-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }

    /// True while the server has not closed the connection (nothing to read, without waiting).
    var isOpen: Bool {
        var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&pollDescriptor, 1, 0) > 0 else { return true }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) > 0
    }

    /// Reads until the server closes the connection or `timeout` passes.
    func receiveUntilClosed(timeout: Duration) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [descriptor] in
                var received: [UInt8] = []
                let deadline = ContinuousClock.now + timeout
                var buffer = [UInt8](repeating: 0, count: 4096)
                var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                while ContinuousClock.now < deadline {
                    guard poll(&pollDescriptor, 1, 100) > 0 else { continue }
                    let count = recv(descriptor, &buffer, buffer.count, 0)
                    if count <= 0 {
                        continuation.resume(returning: (String(decoding: received, as: UTF8.self), true))
                        return
                    }
                    received += buffer[0..<count]
                }
                continuation.resume(returning: (String(decoding: received, as: UTF8.self), false))
            }
        }
    }
}
