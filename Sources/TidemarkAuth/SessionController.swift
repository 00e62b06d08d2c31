import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TidemarkAPI

/// `POST /v1/session` signs a browser in with a query key and answers an HttpOnly,
/// SameSite=Strict session cookie, so the dashboard's pages and fetches never hold the key
/// in script-readable storage. `DELETE /v1/session` signs out.
public struct SessionController<Context: RequestContext>: Sendable {
    public static var cookieName: String { "tidemark_session" }
    public static var lifetimeSeconds: Int { 12 * 3600 }

    let authenticator: APIKeyAuthenticator

    public init(authenticator: APIKeyAuthenticator) {
        self.authenticator = authenticator
    }

    public func addRoutes(to group: RouterGroup<Context>) {
        group.post("session", use: signIn)
        group.delete("session", use: signOut)
    }

    /// The key comes as JSON `{"key": "..."}` or as the `key` field of an HTML form; a form
    /// is answered with a redirect to `/dashboard`, JSON with the session's expiry.
    @Sendable func signIn(request: Request, context: Context) async throws -> Response {
        guard let store = authenticator.store else {
            throw APIError(.badRequest, code: "auth_disabled", message: "this server runs with --no-auth: there is nothing to sign in to")
        }
        let isForm = request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        let body = try await request.body.collect(upTo: 4096)
        let key: String?
        if isForm {
            let form = String(buffer: body).split(separator: "&").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
            key = form.first { $0.first == "key" && $0.count == 2 }.flatMap { $0[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
        } else {
            key = (try? JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) as? [String: Any])?["key"] as? String
        }
        guard let key = key?.trimmingCharacters(in: .whitespaces), !key.isEmpty else {
            throw APIError(
                .badRequest, code: "missing_key", message: "send the API key as JSON {\"key\": \"tmk_...\"} or as the form field key")
        }
        let session: (token: String, expiresAt: String)?
        do {
            session = try await store.openSession(key: key, lifetimeSeconds: Self.lifetimeSeconds)
        } catch {
            context.logger.warning("session could not be opened", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, code: "database_unavailable", message: "sessions cannot be opened right now", retryAfterSeconds: 2)
        }
        guard let session else {
            throw APIError(.unauthorized, code: "unauthorized", message: "the key is unknown, revoked, or has no 'query' scope")
        }
        var response: Response
        if isForm {
            response = Response(status: .seeOther, headers: [.location: "/dashboard"])
        } else {
            response = try jsonResponse(["expires_at": session.expiresAt, "scope": "query"])
        }
        response.setCookie(cookie(value: session.token, maxAge: Self.lifetimeSeconds, request: request))
        return response
    }

    @Sendable func signOut(request: Request, context: Context) async throws -> Response {
        if let token = request.cookies[Self.cookieName]?.value, let store = authenticator.store {
            try? await store.closeSession(token: token)
            authenticator.forget(token)
        }
        var response = Response(status: .noContent)
        response.setCookie(cookie(value: "", maxAge: 0, request: request))
        return response
    }

    /// Secure when the request reached a TLS proxy in front of this server.
    private func cookie(value: String, maxAge: Int, request: Request) -> Cookie {
        let secure = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        return Cookie(name: Self.cookieName, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}
