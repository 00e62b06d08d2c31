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
            var configuration = ServerConfiguration(database: first.databaseURL, pipelines: try ShippedPipelines.catalog())
            configuration.port = 0
            configuration.requireAPIKeys = false
            let app = buildApplication(configuration: configuration, logger: TestServer.quietLogger)
            try await app.test(.live) { client in
                let second = HTTPTestClient(baseURL: "http://127.0.0.1:\(try #require(client.port))")
                let toFirst = [
                    Sample.saleJSON(id: "a1", overriding: ["quantity": 2]), Sample.saleJSON(id: "a2", overriding: ["quantity": 3]),
                ]
                let toSecond = [Sample.saleJSON(id: "b1", overriding: ["quantity": 5]), Sample.saleJSON(id: "a1", overriding: ["quantity": 2])]
                #expect(try await first.http.post("/v1/events", text: "[" + toFirst.joined(separator: ",") + "]").status == 200)
                let posted = try await second.post("/v1/events", text: "[" + toSecond.joined(separator: ",") + "]")
                #expect(posted.json["duplicates"] as? Int == 1, "a1 was stored through the other server")

                for server in [first.http, second] {
                    var units: Int?
                    let deadline = ContinuousClock.now + .seconds(10)
                    while ContinuousClock.now < deadline {
                        let answer = try await server.get("/v1/views/sales_by_store_day?grain=all&group_by=")
                        units = (answer.json["rows"] as? [[String: Any]])?.first?["units_sold"] as? Int
                        if units == 10 { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(units == 10, "\(server.baseURL) answers every node's events")
                }
            }
        }
    }
}
