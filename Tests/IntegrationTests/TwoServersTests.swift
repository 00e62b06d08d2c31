import Hummingbird
import HummingbirdTesting
import Testing
import TidemarkServer
import TidemarkTestSupport

/// Two servers on one database: each speed layer tails the shared raw log, so events posted
/// to either are answered by both.
@Suite struct TwoServersTests {
    @Test func eventsPostedToOneServerAreAnsweredByTheOther() async throws {
        try await TestServer.run { first in
            try await Self.withSecondServer(sharing: first) { second in
                let toFirst = [
                    Sample.saleJSON(id: "a1", overriding: ["quantity": 2]), Sample.saleJSON(id: "a2", overriding: ["quantity": 3]),
                ]
                let toSecond = [Sample.saleJSON(id: "b1", overriding: ["quantity": 5]), Sample.saleJSON(id: "a1", overriding: ["quantity": 2])]
                #expect(try await first.http.post("/v1/events", text: "[" + toFirst.joined(separator: ",") + "]").status == 200)
                let posted = try await second.post("/v1/events", text: "[" + toSecond.joined(separator: ",") + "]")
                #expect(posted.json["duplicates"] as? Int == 1, "a1 was stored through the other server")

                for server in [first.http, second] {
                    #expect(try await Self.unitsSold(server, awaiting: 10) == 10, "\(server.baseURL) answers every node's events")
                }
            }
        }
    }

    /// Both servers take posts at once, half of them repeats of ids the other server was sent:
    /// each speed layer folds its own commits from hand-offs and reads the other's from the
    /// log, and both must end at the exact total (a hand-off folded out of turn would count
    /// events twice, or skip the other server's).
    @Test func concurrentPostsToBothServersLeaveBothSpeedLayersExact() async throws {
        try await TestServer.run { first in
            try await Self.withSecondServer(sharing: first) { second in
                let servers = [first.http, second]
                func body(client: Int, request: Int) -> String {
                    let events = (0..<4).map { event in
                        Sample.saleJSON(id: "c\(client)-r\(request)-e\(event)", overriding: ["quantity": 1 + (client + request + event) % 5])
                    }
                    return "[" + events.joined(separator: ",") + "]"
                }
                let (clients, requests) = (8, 25)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in 0..<clients {
                        group.addTask {
                            for request in 0..<requests {
                                let server = servers[(client + request) % 2]
                                #expect(try await server.post("/v1/events", text: body(client: client, request: request)).status == 200)
                                if request > 0 {
                                    // The previous request again, to the other server: all duplicates.
                                    let again = try await server.post("/v1/events", text: body(client: client, request: request - 1))
                                    #expect(again.json["duplicates"] as? Int == 4)
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                var expected = 0
                for client in 0..<clients {
                    for request in 0..<requests { for event in 0..<4 { expected += 1 + (client + request + event) % 5 } }
                }
                for server in servers {
                    #expect(try await Self.unitsSold(server, awaiting: expected) == expected, "\(server.baseURL) holds every event once")
                    let metrics = try await server.get("/metrics").text
                    #expect(Self.folded(metrics, source: "handoff") > 0, "\(server.baseURL) folded its own commits without reading them back")
                    #expect(
                        Self.folded(metrics, source: "log") > 0,
                        "\(server.baseURL) read events from the log (the other server's, and its own that a poll reached first)")
                }
            }
        }
    }

    /// Runs `body` with a client of a second, in-process server on `first`'s database.
    static func withSecondServer(sharing first: TestServer, _ body: @escaping @Sendable (HTTPTestClient) async throws -> Void) async throws {
        var configuration = ServerConfiguration(database: first.databaseURL, pipelines: try ShippedPipelines.catalog())
        configuration.port = 0
        configuration.requireAPIKeys = false
        let app = buildApplication(configuration: configuration, logger: TestServer.quietLogger)
        try await app.test(.live) { client in
            try await body(HTTPTestClient(baseURL: "http://127.0.0.1:\(try #require(client.port))"))
        }
    }

    /// The units sold over everything that `server` answers, polled for up to 10 s until it is `expected`.
    static func unitsSold(_ server: HTTPTestClient, awaiting expected: Int) async throws -> Int? {
        var units: Int?
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let answer = try await server.get("/v1/views/sales_by_store_day?grain=all&group_by=")
            units = (answer.json["rows"] as? [[String: Any]])?.first?["units_sold"] as? Int
            if units == expected { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return units
    }

    static func folded(_ metrics: String, source: String) -> Double {
        let prefix = "tidemark_speed_folded_events_total{source=\"\(source)\"} "
        return metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) } ?? 0
    }
}
