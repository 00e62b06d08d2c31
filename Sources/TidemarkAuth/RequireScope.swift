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
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw Self.unauthorized("this endpoint needs an API key: send Authorization: Bearer <key> (create one with tidemark keys create)")
        }
        let key = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        let scopes: Set<APIScope>?
        do {
            scopes = try await authenticator.scopes(of: key)
        } catch {
            context.logger.warning("API key lookup failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, code: "database_unavailable", message: "API keys cannot be checked right now", retryAfterSeconds: 2)
        }
        guard let scopes else { throw Self.unauthorized("the API key is unknown or revoked") }
        guard scopes.contains(scope) || scopes.contains(.admin) else {
            throw APIError(
                .forbidden, code: "insufficient_scope",
                message: "the API key lacks the '\(scope.rawValue)' scope (it has: \(scopes.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
        return try await next(request, context)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthorized", message: message)
    }
}
