import Foundation
import NIOHTTP1
import Testing
import TidemarkRawLog
import TidemarkTestSupport

/// The server's own log, as an operator reads it: the text format, from a real `tidemark serve`.
@Suite struct ServerLogTests {
    /// Each request's log lines carry its id (the one its answer names in `X-Request-Id`), and a
    /// line's own metadata sits beside the logger's: the text handler renders the metadata only
    /// when it writes a line (`DeferredMetadataLogHandler`), so this checks nothing was lost.
    @Test func textLogLinesNameTheRequestTheyBelongTo() async throws {
        try await TestDatabase.withFreshDatabase { url, _ in
            let server = try await ServerProcess.start(databaseURL: url.urlString, logLevel: "debug")
            var stopped = false
            defer { if !stopped { server.killNow() } }
            let http = HTTPTestClient(baseURL: server.baseURL)
            let answer = try await http.post("/v1/events", text: Sample.saleJSON(id: "logged-1"))
            #expect(answer.status == 200)
            let requestID = try #require(answer.headers["X-Request-Id"].first)
            #expect(try await server.terminate() == 0)
            stopped = true

            let log = try String(contentsOfFile: server.logPath, encoding: .utf8)
            let lines = log.split(separator: "\n").filter { $0.contains("hb.request.id=\(requestID)") }
            #expect(lines.contains { $0.contains("debug") && $0.contains("Request") }, "the request's line is missing:\n\(log)")
            #expect(
                lines.contains { $0.contains("hb.request.method=POST") && $0.contains("hb.request.path=/v1/events") },
                "the line's own metadata is missing beside the request id:\n\(lines.joined(separator: "\n"))")
        }
    }
}
