import Foundation
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=...` address, as in `DATABASE_URL`.
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: String

    public init(host: String, port: Int, username: String, password: String?, database: String, sslMode: String = "prefer") {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    public init(parsing text: String) throws(DatabaseURLError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else {
            throw DatabaseURLError("expected postgres://user:password@host:port/database, got \"\(Self.redacted(text))\"")
        }
        guard let host = components.host, !host.isEmpty else {
            throw DatabaseURLError("the database URL has no host: \"\(Self.redacted(text))\"")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let sslMode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        guard ["disable", "prefer", "require", "verify-full"].contains(sslMode) else {
            throw DatabaseURLError("sslmode must be disable, prefer, require or verify-full, got \"\(sslMode)\"")
        }
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres",
            password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding },
            database: database.isEmpty ? "postgres" : database,
            sslMode: sslMode)
    }

    /// The same server with another database, used to create and drop databases.
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    public var urlString: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.password = password
        components.host = host
        components.port = port
        components.path = "/" + database
        if sslMode != "prefer" { components.queryItems = [URLQueryItem(name: "sslmode", value: sslMode)] }
        return components.string ?? "postgres://\(host):\(port)/\(database)"
    }

    /// The address with the password hidden, for logs and messages.
    public var description: String { Self.redacted(urlString) }

    public func clientConfiguration() -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch sslMode {
            case "disable": .disable
            case "require", "verify-full": .require(.makeClientConfiguration())
            default: .prefer(.makeClientConfiguration())
            }
        return PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    private static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://***"
    }
}

public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
