import CompressNIO
import Foundation
import NIOCore
import PostgresNIO
import Testing
import TidemarkIngest
import TidemarkServer
import TidemarkTestSupport

@Suite(.serialized) struct IngestHTTPTests {
    @Test func singleObjectIsStoredWithTypedColumns() async throws {
        try await TestServer.run { server in
            let body = Sample.saleJSON(
                id: "s-1", overriding: ["occurred_at": "2026-11-20T07:30:00.25-03:00", "category": "dairy", "currency": "USD"])
            let answer = try await server.http.post("/v1/events", text: body)
            #expect(answer.status == 200)
            #expect(answer.json["accepted"] as? Int == 1)
            #expect(answer.json["duplicates"] as? Int == 0)
            let rows = try await server.database.query(
                "SELECT id, type, occurred_at, store_id, product_id, quantity, unit_price_cents, category, currency FROM events",
                logger: TestServer.quietLogger)
            var seen = 0
            for try await (id, type, occurredAt, store, product, quantity, price, category, currency) in rows.decode(
                (String, String, Date, String, String, Int64, Int64, String, String).self)
            {
                seen += 1
                #expect(id == "s-1")
                #expect(type == "sale")
                #expect(occurredAt == Date(timeIntervalSince1970: 1_795_170_600.25))  // 2026-11-20T10:30:00.25Z
                #expect(store == "S01" && product == "P1" && quantity == 2 && price == 250 && category == "dairy" && currency == "USD")
            }
            #expect(seen == 1)
        }
    }

    @Test func arrayNDJSONAndGzipBodiesAreAccepted() async throws {
        try await TestServer.run { server in
            let array = "[" + (1...3).map { Sample.saleJSON(id: "a-\($0)") }.joined(separator: ",") + "]"
            #expect(try await server.http.post("/v1/events", text: array).json["accepted"] as? Int == 3)

            let ndjson = Sample.ndjson((1...4).map { Sample.saleJSON(id: "n-\($0)") })
            #expect(try await server.http.post("/v1/events", text: ndjson, contentType: "application/x-ndjson").json["accepted"] as? Int == 4)

            var plain = ByteBuffer(string: Sample.ndjson((1...5).map { Sample.saleJSON(id: "g-\($0)") }))
            let gzipped = try plain.compress(with: .gzip())
            let answer = try await server.http.post(
                "/v1/events", body: gzipped, contentType: "application/x-ndjson", headers: [("Content-Encoding", "gzip")])
            #expect(answer.status == 200)
            #expect(answer.json["accepted"] as? Int == 5)
            #expect(try await server.eventCount() == 12)
        }
    }

    @Test func duplicatesWithinAndAcrossRequestsAreStoredOnce() async throws {
        try await TestServer.run { server in
            let first = Sample.ndjson(["d-1", "d-2", "d-1", "d-3", "d-2"].map { Sample.saleJSON(id: $0) })
            let a = try await server.http.post("/v1/events", text: first, contentType: "application/x-ndjson")
            #expect(a.json["accepted"] as? Int == 3)
            #expect(a.json["duplicates"] as? Int == 2)
            let second = Sample.ndjson(["d-3", "d-4"].map { Sample.saleJSON(id: $0) })
            let b = try await server.http.post("/v1/events", text: second, contentType: "application/x-ndjson")
            #expect(b.json["accepted"] as? Int == 1)
            #expect(b.json["duplicates"] as? Int == 1)
            #expect(try await server.eventCount() == 4)
        }
    }

    @Test func everyValidationRuleAnswers422AndStoresNothing() async throws {
        try await TestServer.run { server in
            for rule in ValidationCases.all {
                // A valid event rides along: nothing of a refused request may land.
                let body =
                    rule.json.hasPrefix("[")
                    ? rule.json : "[" + Sample.saleJSON(id: "rides-along") + "," + rule.json + "]"
                let answer = try await server.http.post("/v1/events", text: body)
                #expect(answer.status == 422, "\(rule.rule): \(answer.status) \(answer.text)")
                #expect(answer.errorCode == "invalid_events", "\(rule.rule)")
                let details = answer.errorDetails
                #expect(
                    details.contains { ($0["field"] as? String) == rule.field && ($0["message"] as? String ?? "").contains(rule.messageContains) },
                    "\(rule.rule): \(details)")
                #expect(details.allSatisfy { $0["index"] is Int }, "\(rule.rule): every issue names its index")
            }
            #expect(try await server.eventCount() == 0)
        }
    }

    @Test func malformedBodiesAnswer400WithWhere() async throws {
        try await TestServer.run { server in
            let ndjson = Sample.saleJSON(id: "m-1") + "\n" + "{\"id\": \"m-2\", oops}\n"
            let bad = try await server.http.post("/v1/events", text: ndjson, contentType: "application/x-ndjson")
            #expect(bad.status == 400)
            #expect(bad.errorCode == "malformed_body")
            let badMessage: String = (bad.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(badMessage.contains("line 2"))

            let json = try await server.http.post("/v1/events", text: "[{\"id\": ]")
            #expect(json.status == 400)
            let jsonMessage: String = (json.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(jsonMessage.contains("character"))

            let gzip = try await server.http.post(
                "/v1/events", body: ByteBuffer(string: "not gzip"), contentType: "application/json", headers: [("Content-Encoding", "gzip")])
            #expect(gzip.status == 400)
            #expect(try await server.eventCount() == 0)
        }
    }

    @Test func wrongContentTypeAnswers415() async throws {
        try await TestServer.run { server in
            let body = Sample.saleJSON(id: "c-1")
            #expect(try await server.http.post("/v1/events", text: body, contentType: "text/plain").status == 415)
            #expect(try await server.http.post("/v1/events", text: body, contentType: nil).status == 415)
            let brotli = try await server.http.post(
                "/v1/events", body: ByteBuffer(string: body), contentType: "application/json", headers: [("Content-Encoding", "br")])
            #expect(brotli.status == 415)
            #expect(try await server.eventCount() == 0)
        }
    }

    @Test func oversizedBodiesAnswer413() async throws {
        try await TestServer.run(configure: { $0.ingestLimits.maxBodyBytes = 64 * 1024 }) { server in
            let big = Sample.ndjson((0..<600).map { Sample.saleJSON(id: "big-\($0)") })
            let answer = try await server.http.post("/v1/events", text: big, contentType: "application/x-ndjson")
            #expect(answer.status == 413)

            // A small gzip body that inflates past the limit is refused too (a "zip bomb").
            var inflated = ByteBuffer(string: "[" + String(repeating: " ", count: 2_000_000) + "]")
            let bomb = try inflated.compress(with: .gzip())
            #expect(bomb.readableBytes < 64 * 1024)
            let bombAnswer = try await server.http.post(
                "/v1/events", body: bomb, contentType: "application/json", headers: [("Content-Encoding", "gzip")])
            #expect(bombAnswer.status == 413)
            #expect(try await server.eventCount() == 0)
        }
    }

    @Test func emptyArrayIsAcceptedAsNothing() async throws {
        try await TestServer.run { server in
            let answer = try await server.http.post("/v1/events", text: "[]")
            #expect(answer.status == 200)
            #expect(answer.json["accepted"] as? Int == 0)
        }
    }

    /// Pipelined requests on one connection, some answered by the fast path and some by the
    /// router, come back in order; a client that closes its side after sending still gets
    /// every answer.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await TestServer.run { server in
            let port = try #require(URLComponents(string: server.http.baseURL)?.port)
            func post(_ json: String) -> String { RawConnection.eventsRequest(json: json) }
            let connection = try RawConnection(port: port)
            try connection.send(
                post(Sample.saleJSON(id: "pl-1")) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    + post(Sample.saleJSON(id: "pl-2", overriding: ["quantity": 0])) + post(Sample.saleJSON(id: "pl-1"))
                    + post(Sample.saleJSON(id: "pl-3")))
            connection.closeWriting()
            let reply = await connection.receiveUntilClosed(timeout: .seconds(60))
            #expect(reply.closed)
            let answers = reply.text.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(answers.map { $0.prefix(3) } == ["200", "200", "422", "200", "200"], "\(reply.text)")
            let bodies = answers.map { $0.components(separatedBy: "\r\n\r\n").last ?? "" }
            let expected = [
                #"{"accepted":1,"duplicates":0}"#, #"{"status":"ok"}"#, "invalid_events", #"{"accepted":0,"duplicates":1}"#,
                #"{"accepted":1,"duplicates":0}"#,
            ]
            #expect(bodies.count == expected.count && zip(bodies, expected).allSatisfy { $0.contains($1) }, "\(bodies)")
            #expect(try await server.eventCount() == 2)
            // The first came whole in the first read, so the fast path answered it; the rest
            // followed the router's answers in order.
            #expect(try await server.metric("tidemark_ingest_fast_path_answers_total") == 1)

            // A plain body sent in one write is the fast path's; a gzip one the router's.
            let plain = try await RawConnection.postEvents(port: port, json: Sample.saleJSON(id: "pl-4"))
            #expect(plain.hasPrefix("HTTP/1.1 200") && plain.contains(#"{"accepted":1,"duplicates":0}"#), "\(plain)")
            #expect(try await server.metric("tidemark_ingest_fast_path_answers_total") == 2)
            var gzipped = ByteBuffer(string: Sample.saleJSON(id: "pl-5"))
            let compressed = try gzipped.compress(with: .gzip())
            let answer = try await server.http.post(
                "/v1/events", body: compressed, contentType: "application/json", headers: [("Content-Encoding", "gzip")])
            #expect(answer.status == 200)
            #expect(try await server.metric("tidemark_ingest_fast_path_answers_total") == 2)
        }
    }
}
