import Hummingbird
import TidemarkAPI

/// Answers `405 Method Not Allowed`, with `Allow`, when a path has routes but none for the
/// request's method: Hummingbird's router answers `404` for both. Other unrouted requests get
/// `404` in the API's error shape (Hummingbird's has no body). Added after every route, so
/// it wraps only the router's not-found answer (a middleware applies to the routes added
/// after it, and to that answer) and costs the routed requests nothing.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    private let routes: [(path: RouterPath, method: HTTPRequest.Method)]

    init(routes: [Router<Context>.RouteDescription]) {
        self.routes = routes.map { ($0.path, $0.method) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = allowedMethods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else {
                throw APIError(.notFound, code: "not_found", message: "nothing is served at \(request.uri.path)")
            }
            let names = allowed.map(\.rawValue).sorted()
            var headers = HTTPFields()
            headers[.allow] = names.joined(separator: ", ")
            throw APIError(
                .methodNotAllowed, code: "method_not_allowed",
                message: "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(names.joined(separator: " or "))",
                headers: headers)
        }
    }

    /// The methods of the routes whose path matches `path`, with `HEAD` wherever `GET` is (the
    /// router generates those when it is built, after this list was taken).
    func allowedMethods(for path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods = Set(routes.filter { Self.matches($0.path, segments) }.map(\.method))
        if methods.contains(.get) { methods.insert(.head) }
        return methods
    }

    private static func matches(_ route: RouterPath, _ segments: [Substring]) -> Bool {
        var remaining = segments[...]
        for element in route {
            if element.description == "**" { return true }  // a recursive wildcard takes the rest
            guard let segment = remaining.popFirst(), element ~= segment else { return false }
        }
        return remaining.isEmpty
    }
}
