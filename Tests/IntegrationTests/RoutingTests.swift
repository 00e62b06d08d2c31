import NIOCore
import NIOHTTP1
import Testing
import TidemarkTestSupport

/// Requests no route takes: a path that has routes, with another method, answers `405` and
/// names the methods it takes in `Allow`; any other path answers `404`; both in the API's
/// error shape, with the request id. A routed request's own errors are left alone.
@Suite struct RoutingTests {
    @Test func aWrongMethodIsRefusedWith405AndTheMethodsThePathTakes() async throws {
        try await TestServer.run { server in
            let cases: [(answer: HTTPTestClient.Answer, allow: String)] = [
                (try await server.http.get("/v1/events"), "POST"),
                (try await server.http.put("/v1/views/sales_by_store_day", text: "{}"), "GET, HEAD"),
                (try await server.http.delete("/healthz"), "GET, HEAD"),
                (try await server.http.get("/v1/session"), "DELETE, POST"),
                (try await server.http.post("/v1/reorder-points", text: "{}"), "GET, HEAD, PUT"),
            ]
            for (answer, allow) in cases {
                #expect(answer.status == 405)
                #expect(answer.headers["Allow"].first == allow)
                #expect(answer.errorCode == "method_not_allowed")
                #expect(answer.headers["X-Request-Id"].first?.isEmpty == false)
            }
            let head = try await server.http.head("/v1/events")  // (a HEAD answer has no body)
            #expect(head.status == 405)
            #expect(head.headers["Allow"].first == "POST")
            let unknown = try await server.http.get("/nowhere/at/all")
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "not_found")
            #expect(try await server.http.get("/v1/views/nope").errorCode == "unknown_view", "a routed request's error stays")
            #expect(try await server.eventCount() == 0)
        }
    }

    /// Every GET route answers HEAD too: the GET's status and headers, no body.
    @Test func headAnswersWhatGetWouldWithoutTheBody() async throws {
        try await TestServer.run { server in
            let head = try await server.http.head("/healthz")
            #expect(head.status == 200)
            #expect(head.headers["Content-Type"].first?.hasPrefix("application/json") == true)
            #expect(head.body.readableBytes == 0)
            #expect(try await server.http.get("/healthz").body.readableBytes > 0)
            #expect(try await server.http.head("/v1/views/sales_by_store_day").status == 200)
            #expect(try await server.http.head("/v1/views/nope").status == 400, "the GET's error status")
        }
    }
}
