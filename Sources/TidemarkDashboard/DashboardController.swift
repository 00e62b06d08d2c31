import Foundation
import HTTPTypes
import Hummingbird
import TidemarkAPI
import TidemarkAuth
import TidemarkEvents
import TidemarkPipelines
import TidemarkServing

/// `GET /` and `/dashboard` (the page, or a sign-in form), `/dashboard/panel` (what the page
/// refreshes), its style sheet and script, and `GET /v1/reports/daily`.
public struct DashboardController<Context: RequestContext>: Sendable {
    let source: DashboardSource
    let authenticator: APIKeyAuthenticator
    let currency: String

    public init(source: DashboardSource, authenticator: APIKeyAuthenticator, currency: String) {
        self.source = source
        self.authenticator = authenticator
        self.currency = currency
    }

    /// The pages check access themselves (a sign-in form rather than a 401); the report sits
    /// behind the query scope like the other `/v1` reads.
    public func addRoutes(pages router: Router<Context>, reports: RouterGroup<Context>) {
        router.get("/", use: page)
        router.get("dashboard", use: page)
        router.get("dashboard/panel", use: panel)
        router.get("dashboard/app.css") { _, _ in Self.asset(DashboardAssets.css, type: "text/css; charset=utf-8") }
        router.get("dashboard/app.js") { _, _ in Self.asset(DashboardAssets.script, type: "text/javascript; charset=utf-8") }
        reports.get("reports/daily", use: dailyReport)
    }

    private var renderer: DashboardPage { DashboardPage(currency: currency, signOutEnabled: authenticator.isEnabled) }

    @Sendable func page(request: Request, context: Context) async throws -> Response {
        let filter = try Self.filter(request)
        switch await authenticator.queryAccess(request) {
        case .allowed: return try await Self.html(renderer.page(snapshot(filter)))
        case .denied: return Self.html(renderer.signIn(language: filter.language))
        case .unknown: throw Self.unavailable
        }
    }

    @Sendable func panel(request: Request, context: Context) async throws -> Response {
        switch await authenticator.queryAccess(request) {
        case .allowed: return try await Self.html(renderer.panel(snapshot(try Self.filter(request))))
        case .denied: throw APIError(.unauthorized, code: "unauthorized", message: "sign in at /dashboard, or send an API key with the query scope")
        case .unknown: throw Self.unavailable
        }
    }

    @Sendable func dailyReport(request: Request, context: Context) async throws -> Response {
        let filter = try Self.filter(request, requireDate: true)
        let format = request.uri.queryParameters["format"].map(String.init) ?? "csv"
        guard format == "csv" || format == "html" else {
            throw APIError(.badRequest, code: "invalid_format", message: "format must be csv or html, not '\(format)'", details: ["csv", "html"])
        }
        let report = try await unavailableOnFailure {
            try await DailyReport.load(day: filter.day, engine: source.engine, catalog: source.catalog, store: filter.store)
        }
        if format == "html" { return Self.html(report.html(language: filter.language, currency: currency)) }
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"tidemark-daily-\(filter.dayText).csv\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: report.csv())))
    }

    private func snapshot(_ filter: DashboardFilter) async throws -> DashboardSnapshot {
        try await unavailableOnFailure { try await source.snapshot(filter) }
    }

    private func unavailableOnFailure<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as DashboardSource.MissingView {
            throw APIError(.notFound, code: "missing_view", message: error.description)
        } catch let error as APIError {
            throw error
        } catch  where DatabaseFailure.isOutage(error) {
            throw Self.unavailable
        } catch {
            throw APIError(
                .internalServerError, code: "query_failed",
                message: "the numbers could not be read: the server logged why, under this request's X-Request-Id",
                logDetail: String(reflecting: error))
        }
    }

    static var unavailable: APIError {
        APIError(.serviceUnavailable, code: "database_unavailable", message: "the numbers cannot be read right now", retryAfterSeconds: 2)
    }

    static var allowedParameters: Set<String> { ["date", "store_id", "category", "lang", "format"] }

    /// `date` (YYYY-MM-DD, UTC; default today), `store_id`, `category`, `lang`.
    static func filter(_ request: Request, requireDate: Bool = false) throws -> DashboardFilter {
        let parameters = request.uri.queryParameters
        for (name, _) in parameters where !allowedParameters.contains(String(name)) {
            throw APIError(
                .badRequest, code: "unknown_parameter",
                message: "unknown query parameter '\(name)'; valid: \(allowedParameters.sorted().joined(separator: ", "))",
                details: allowedParameters.sorted())
        }
        let language = Language(parameter: parameters["lang"].map(String.init), acceptLanguage: request.headers[.acceptLanguage])
        let day: Timestamp
        if let text = parameters["date"].map(String.init), !text.isEmpty {
            guard text.count == 10, let parsed = try? Timestamp(rfc3339: text + "T00:00:00Z") else {
                throw APIError(.badRequest, code: "invalid_date", message: "date must be a day like 2026-11-20, not '\(text)'")
            }
            day = parsed
        } else if requireDate {
            throw APIError(.badRequest, code: "missing_date", message: "date is required: a day like 2026-11-20 (UTC)")
        } else {
            let now = Timestamp.now().microsecondsSinceEpoch
            day = Timestamp(microsecondsSinceEpoch: now - now % DashboardSource.day)
        }
        func nonEmpty(_ name: Substring) throws -> String? {
            guard let text = parameters[name].map(String.init), !text.isEmpty else { return nil }
            // PostgreSQL text cannot hold NUL (the read would fail with a 500), and no stored
            // key has one: ingest refuses NUL in every string.
            guard !text.utf8.contains(0) else {
                throw APIError(.badRequest, code: "invalid_filter", message: "\(name) contains the NUL character (%00), which no stored value has")
            }
            return text
        }
        return DashboardFilter(day: day, store: try nonEmpty("store_id"), category: try nonEmpty("category"), language: language)
    }

    static func html(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        // Only this server's own files; no inline script, no framing.
        headers[.contentSecurityPolicy] = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=300"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
