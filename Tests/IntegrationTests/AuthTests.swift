import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOHTTP1
import PostgresNIO
import Testing
import TidemarkAuth
import TidemarkRawLog
import TidemarkServer
import TidemarkTestSupport

/// API keys with scopes on every protected route, over HTTP.
@Suite struct AuthTests {
    static let event = Sample.saleJSON(id: "auth-1")
    static let queryPaths = ["/v1/views", "/v1/views/sales_by_store_day", "/v1/views/nope", "/v1/stock"]
    static let reorderPoints = #"[{"store_id": "S01", "product_id": "P1", "reorder_point": 5, "lead_time_hours": 24}]"#

    @Test func keysAndScopesGuardEveryProtectedRoute() async throws {
        try await TestServer.run(configure: { $0.requireAPIKeys = true }) { server in
            let store = APIKeyStore(client: server.database, logger: TestServer.quietLogger)
            let ingest = try await store.create(name: "till", scopes: [.ingest]).key
            let query = try await store.create(name: "analyst", scopes: [.query]).key
            let admin = try await store.create(name: "ops", scopes: [.admin]).key
            let revoked = try await store.create(name: "old", scopes: [.ingest, .query])
            #expect(try await store.revoke(revoked.record.prefix))

            func post(_ key: String?) async throws -> Int {
                var headers: [(String, String)] = []
                if let key { headers.append(("Authorization", "Bearer \(key)")) }
                return try await server.http.post("/v1/events", body: .init(string: Self.event), headers: headers).status
            }
            func get(_ path: String, _ key: String?) async throws -> Int {
                try await server.http.get(path, headers: key.map { [("Authorization", "Bearer \($0)")] } ?? []).status
            }

            // Ingest: only ingest (or admin) keys.
            #expect(try await post(nil) == 401)
            #expect(try await post("tmk_not-a-key") == 401)
            #expect(try await post(revoked.key) == 401)
            #expect(try await post(query) == 403)
            #expect(try await post(ingest) == 200)
            #expect(try await post(admin) == 200)
            // Once the cache knows a key, its ingests take the fast path; the refused ones never do.
            let port = try #require(URLComponents(string: server.http.baseURL)?.port)
            let before = try await server.metric("tidemark_ingest_fast_path_answers_total") ?? 0
            let fast = try await RawConnection.postEvents(port: port, json: Self.event, headers: ["Authorization: Bearer \(ingest)"])
            #expect(fast.hasPrefix("HTTP/1.1 200"), "\(fast)")
            for key in [query, revoked.key, "tmk_not-a-key"] {
                let refused = try await RawConnection.postEvents(port: port, json: Self.event, headers: ["Authorization: Bearer \(key)"])
                #expect(refused.hasPrefix("HTTP/1.1 40"), "\(refused)")
            }
            #expect(try await server.metric("tidemark_ingest_fast_path_answers_total") == before + 1)
            // Queries: only query (or admin) keys.
            for path in Self.queryPaths {
                let expectedWithKey = path.hasSuffix("nope") ? 400 : 200
                #expect(try await get(path, nil) == 401, "\(path)")
                #expect(try await get(path, revoked.key) == 401, "\(path)")
                #expect(try await get(path, ingest) == 403, "\(path)")
                #expect(try await get(path, query) == expectedWithKey, "\(path)")
                #expect(try await get(path, admin) == expectedWithKey, "\(path)")
            }
            // Health and metrics stay open.
            for path in ["/healthz", "/metrics"] { #expect(try await get(path, nil) == 200, "\(path)") }

            // Every route of the router that is not open refuses missing, unknown, revoked
            // and wrong-scope keys, and takes the right one (GETs need query, PUTs admin, the rest ingest).
            let parts = buildServerParts(
                configuration: ServerConfiguration(database: server.databaseURL, pipelines: try ShippedPipelines.catalog()),
                logger: TestServer.quietLogger)
            let routes = parts.router.routes.map { "\($0)" }
            // The dashboard's pages answer a sign-in form without a key (DashboardTests checks them).
            let open: Set = [
                "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml", "POST /v1/session", "DELETE /v1/session", "GET /",
                "GET /dashboard",
                "GET /dashboard/panel", "GET /dashboard/app.css", "GET /dashboard/app.js",
            ]
            let protected = routes.filter { !open.contains($0) }
            #expect(protected.count >= 4, "\(routes)")
            for route in protected {
                let parts = route.split(separator: " ").map(String.init)
                let path = parts[1].replacingOccurrences(of: "{view}", with: "sales_by_store_day")
                let (rights, wrongs) =
                    switch parts[0] {
                    case "GET": ([query, admin], [ingest])
                    case "PUT": ([admin], [query, ingest])
                    default: ([ingest, admin], [query])
                    }
                func send(_ key: String?) async throws -> Int {
                    let headers = key.map { [("Authorization", "Bearer \($0)")] } ?? []
                    switch parts[0] {
                    case "GET": return try await server.http.get(path, headers: headers).status
                    case "DELETE": return try await server.http.delete(path, headers: headers).status
                    case "PUT": return try await server.http.put(path, text: Self.reorderPoints, headers: headers).status
                    default: return try await server.http.post(path, body: .init(string: Self.event), headers: headers).status
                    }
                }
                for key in [nil, "tmk_not-a-key", revoked.key] { #expect(try await send(key) == 401, "\(route) with \(key ?? "no key")") }
                for key in wrongs { #expect(try await send(key) == 403, "\(route) with the wrong scope") }
                for key in rights { #expect(![401, 403].contains(try await send(key)), "\(route) with the right scope") }
            }

            let refused = try await server.http.post("/v1/events", body: .init(string: Self.event), headers: [("Authorization", "Bearer \(query)")])
            #expect(refused.errorCode == "insufficient_scope")
            #expect(refused.text.contains("'ingest'"))
            // Only digests are stored: no column holds the key, and the digest is its SHA-256.
            let leaked = try await server.database.scalar("SELECT count(*) FROM tidemark_api_keys t WHERE strpos(t::text, \(ingest)) > 0")
            #expect(leaked == 0)
            let digested = try await server.database.scalar(
                "SELECT count(*) FROM tidemark_api_keys WHERE key_sha256 = sha256(convert_to(\(ingest), 'UTF8')) AND name = 'till'")
            #expect(digested == 1)
        }
    }

    /// The dashboard signs in with a query key and then holds only an HttpOnly, SameSite
    /// cookie, good for queries, ended by signing out or by revoking the key.
    @Test func aQueryKeyOpensASessionCookieForQueriesOnly() async throws {
        try await TestServer.run(configure: { $0.requireAPIKeys = true }) { server in
            let store = APIKeyStore(client: server.database, logger: TestServer.quietLogger)
            let query = try await store.create(name: "dashboard", scopes: [.query])
            let ingest = try await store.create(name: "till", scopes: [.ingest]).key

            let opened = try await server.http.post("/v1/session", text: "{\"key\": \"\(query.key)\"}")
            #expect(opened.status == 200, "\(opened.text)")
            let setCookie = opened.headers.first(name: "Set-Cookie") ?? ""
            for attribute in ["tidemark_session=tms_", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
                #expect(setCookie.contains(attribute), "\(setCookie)")
            }
            #expect(!setCookie.contains(query.key))
            let token = String(setCookie.split(separator: ";")[0].dropFirst("tidemark_session=".count))
            let cookie = [("Cookie", "tidemark_session=\(token)")]

            #expect(try await server.http.get("/v1/views/sales_by_store_day", headers: cookie).status == 200)
            let post = try await server.http.post("/v1/events", body: .init(string: Self.event), headers: cookie)
            #expect(post.status == 403, "a session cannot ingest")
            #expect(post.errorCode == "insufficient_scope")
            #expect(try await server.http.get("/v1/views", headers: [("Cookie", "tidemark_session=tms_forged")]).status == 401)
            #expect(try await server.http.post("/v1/session", text: "{\"key\": \"\(ingest)\"}").status == 401, "an ingest key opens no session")
            #expect(try await server.http.post("/v1/session", text: "{}").status == 400)
            let stored = try await server.database.scalar(
                "SELECT count(*) FROM tidemark_sessions WHERE token_sha256 = sha256(convert_to(\(token), 'UTF8'))")
            #expect(stored == 1, "only the token's digest is kept")

            // An HTML form gets a redirect to the dashboard, with its own cookie.
            var noRedirects = HTTPClient.Configuration()
            noRedirects.redirectConfiguration = .disallow
            let browser = HTTPClient(eventLoopGroupProvider: .singleton, configuration: noRedirects)
            let form = try await HTTPTestClient(baseURL: server.http.baseURL, client: browser).post(
                "/v1/session", body: .init(string: "key=\(query.key)"), contentType: "application/x-www-form-urlencoded")
            try await browser.shutdown()
            #expect(form.status == 303)
            #expect(form.headers.first(name: "Location") == "/dashboard")
            let formCookie = form.headers.first(name: "Set-Cookie") ?? ""
            let formToken = String(formCookie.split(separator: ";").first?.dropFirst("tidemark_session=".count) ?? "")
            #expect(formToken.hasPrefix("tms_") && formToken != token)

            // Signing out ends the session at once.
            let closed = try await server.http.delete("/v1/session", headers: cookie)
            #expect(closed.status == 204)
            #expect(closed.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true)
            #expect(try await server.http.get("/v1/views", headers: cookie).status == 401)

            // Revoking the key ends its other sessions within the cache time.
            #expect(try await server.http.get("/v1/views", headers: [("Cookie", "tidemark_session=\(formToken)")]).status == 200)
            #expect(try await store.revoke(query.record.prefix))
            let deadline = ContinuousClock.now + .seconds(Int(APIKeyAuthenticator.cacheSeconds) + 5)
            var status = 200
            while status == 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
                status = try await server.http.get("/v1/views", headers: [("Cookie", "tidemark_session=\(formToken)")]).status
            }
            #expect(status == 401)
        }
    }

    @Test func theKeysCommandCreatesListsAndRevokes() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            let created = try await TidemarkCommand.run([
                "keys", "create", "--name", "pos-7", "--scope", "ingest,query", "--database-url", url.urlString,
            ])
            #expect(created.status == 0, "\(created.output)")
            let key = try #require(created.output.split(separator: "\n").first { $0.hasPrefix("tmk_") }.map(String.init))
            let store = APIKeyStore(client: client, logger: TestServer.quietLogger)
            #expect(try await store.scopes(of: key) == [.ingest, .query])

            let listed = try await TidemarkCommand.run(["keys", "list", "--database-url", url.urlString])
            #expect(listed.output.contains("pos-7") && listed.output.contains(String(key.prefix(12))))
            #expect(!listed.output.contains(key), "the list never shows a whole key")

            #expect(try await TidemarkCommand.run(["keys", "revoke", String(key.prefix(12)), "--database-url", url.urlString]).status == 0)
            #expect(try await store.scopes(of: key) == nil)
            #expect(try await TidemarkCommand.run(["keys", "revoke", "tmk_nothing", "--database-url", url.urlString]).status != 0)
            let bad = try await TidemarkCommand.run(["keys", "create", "--name", "x", "--scope", "write", "--database-url", url.urlString])
            #expect(bad.status != 0 && bad.output.contains("unknown scope 'write'"))
        }
    }
}
