import Foundation
import Hummingbird
import Logging
import Synchronization
import TidemarkAPI

/// Checks `Authorization: Bearer <key>` against the key store, with a short cache.
public final class APIKeyAuthenticator: Sendable {
    /// Answers stay this long in the cache: a revoked key stops working within this time.
    public static let cacheSeconds: Int64 = 5

    let store: APIKeyStore?
    private let cache = Mutex<[[UInt8]: (scopes: Set<APIScope>?, until: ContinuousClock.Instant)]>([:])

    /// With `store` nil, authentication is off (`--no-auth`) and every request passes.
    public init(store: APIKeyStore?) {
        self.store = store
    }

    public var isEnabled: Bool { store != nil }

    func scopes(of key: String) async throws -> Set<APIScope>? {
        let digest = APIKeyStore.digest(key)
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[digest] }), cached.until > now { return cached.scopes }
        guard let store else { return Set(APIScope.allCases) }
        let scopes = try await store.scopes(of: key)
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[digest] = (scopes, now + .seconds(Self.cacheSeconds))
        }
        return scopes
    }

    func isSessionValid(_ token: String) async throws -> Bool {
        let digest = APIKeyStore.digest(token)
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[digest] }), cached.until > now { return cached.scopes != nil }
        guard let store else { return true }
        let valid = try await store.isSessionValid(token: token)
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[digest] = (valid ? [.query] : nil, now + .seconds(Self.cacheSeconds))
        }
        return valid
    }

    /// Whether an `Authorization` header grants `scope` by what is known without asking the
    /// database: always while authentication is off, otherwise from the cache. False means
    /// "not known here": the request then goes through `RequireScope`, which looks the key up.
    public func grantsWithoutLookup(authorization: String?, scope: APIScope) -> Bool {
        guard isEnabled else { return true }
        guard let key = Self.bearerKey(authorization) else { return false }
        guard let cached = cache.withLock({ $0[APIKeyStore.digest(key)] }), cached.until > .now, let scopes = cached.scopes else {
            return false
        }
        return Self.scopes(scopes, grant: scope)
    }

    /// The key of an `Authorization: Bearer <key>` header.
    static func bearerKey(_ header: String?) -> String? {
        guard let header, header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// Admin keys may do everything.
    static func scopes(_ scopes: Set<APIScope>, grant scope: APIScope) -> Bool {
        scopes.contains(scope) || scopes.contains(.admin)
    }

    /// Forgets a closed session at once on this node (others within `cacheSeconds`).
    func forget(_ token: String) {
        _ = cache.withLock { $0.removeValue(forKey: APIKeyStore.digest(token)) }
    }
}

/// Lets a request through only with a key that has `scope`.
public struct RequireScope<Context: RequestContext>: RouterMiddleware {
    let scope: APIScope
    let authenticator: APIKeyAuthenticator

    public init(_ scope: APIScope, authenticator: APIKeyAuthenticator) {
        self.scope = scope
        self.authenticator = authenticator
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard authenticator.isEnabled else { return try await next(request, context) }
        guard let key = APIKeyAuthenticator.bearerKey(request.headers[.authorization]) else {
            if let session = request.cookies[SessionController<Context>.cookieName]?.value {
                return try await withSession(session, request: request, context: context, next: next)
            }
            throw Self.unauthorized("this endpoint needs an API key: send Authorization: Bearer <key> (create one with tidemark keys create)")
        }
        let scopes: Set<APIScope>?
        do {
            scopes = try await authenticator.scopes(of: key)
        } catch {
            context.logger.warning("API key lookup failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, code: "database_unavailable", message: "API keys cannot be checked right now", retryAfterSeconds: 2)
        }
        guard let scopes else { throw Self.unauthorized("the API key is unknown or revoked") }
        guard APIKeyAuthenticator.scopes(scopes, grant: scope) else {
            throw APIError(
                .forbidden, code: "insufficient_scope",
                message: "the API key lacks the '\(scope.rawValue)' scope (it has: \(scopes.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
        return try await next(request, context)
    }

    /// The dashboard's cookie: good for queries only, whatever the scopes of the key that opened it.
    private func withSession(
        _ token: String, request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let valid: Bool
        do {
            valid = try await authenticator.isSessionValid(token)
        } catch {
            context.logger.warning("session lookup failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, code: "database_unavailable", message: "sessions cannot be checked right now", retryAfterSeconds: 2)
        }
        guard valid else { throw Self.unauthorized("the session has expired or was closed; sign in again") }
        guard scope == .query else {
            throw APIError(
                .forbidden, code: "insufficient_scope",
                message: "a dashboard session may only query; send an API key with the '\(scope.rawValue)' scope instead")
        }
        return try await next(request, context)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthorized", message: message)
    }
}

/// Whether a request may read, for pages that show a sign-in form instead of answering 401.
public enum QueryAccess: Sendable {
    case allowed
    case denied
    /// Keys or sessions could not be checked (the database is unreachable).
    case unknown
}

extension APIKeyAuthenticator {
    /// A bearer key with the `query` or `admin` scope, or a session cookie; always allowed
    /// when authentication is off.
    public func queryAccess(_ request: Request) async -> QueryAccess {
        guard isEnabled else { return .allowed }
        do {
            if let key = Self.bearerKey(request.headers[.authorization]) {
                guard let scopes = try await scopes(of: key) else { return .denied }
                return Self.scopes(scopes, grant: .query) ? .allowed : .denied
            }
            if let token = request.cookies["tidemark_session"]?.value {
                return try await isSessionValid(token) ? .allowed : .denied
            }
            return .denied
        } catch {
            return .unknown
        }
    }
}
