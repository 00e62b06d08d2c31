import Crypto
import Foundation
import Logging
import PostgresNIO
import TidemarkRawLog

/// What a key may do.
public enum APIScope: String, Sendable, CaseIterable, Codable {
    /// POST /v1/events.
    case ingest
    /// The query API and the dashboard.
    case query
    /// Operator endpoints.
    case admin
}

/// A key as listed: never the key itself, only its first characters.
public struct APIKeyRecord: Sendable, Encodable {
    public var id: Int64
    public var name: String
    public var prefix: String
    public var scopes: [String]
    public var createdAt: String
    public var revokedAt: String?
}

/// Keys in PostgreSQL (`tidemark_api_keys`), stored as SHA-256 digests.
///
/// A key is 32 random bytes, URL-safe base64, after `tmk_`; being random and long, a plain
/// (unsalted) SHA-256 is enough to make the stored digest useless to a reader of the table,
/// and it lets a request's key be found with one index lookup.
public struct APIKeyStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public static func digest(_ key: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(key.utf8)))
    }

    /// 32 random bytes in URL-safe base64 (also valid as a cookie value).
    static func randomSecret() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Creates a key and returns it; this is the only time it is ever shown.
    public func create(name: String, scopes: Set<APIScope>) async throws -> (key: String, record: APIKeyRecord) {
        precondition(!scopes.isEmpty)
        let key = "tmk_" + Self.randomSecret()
        let prefix = String(key.prefix(12))
        let scopeNames = scopes.map(\.rawValue).sorted()
        let rows = try await client.boundedQuery(
            """
            INSERT INTO tidemark_api_keys (name, prefix, key_sha256, scopes) VALUES (\(name), \(prefix), \(ByteBuffer(bytes: Self.digest(key))), \(scopeNames))
            RETURNING id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            """, logger: logger)
        for try await (id, created) in rows.decode((Int64, String).self) {
            return (key, APIKeyRecord(id: id, name: name, prefix: prefix, scopes: scopeNames, createdAt: created, revokedAt: nil))
        }
        throw KeyStoreFailure(message: "the key was not stored")
    }

    public func list() async throws -> [APIKeyRecord] {
        let rows = try await client.boundedQuery(
            """
            SELECT id, name, prefix, scopes, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM tidemark_api_keys ORDER BY id
            """, logger: logger)
        var records: [APIKeyRecord] = []
        for try await (id, name, prefix, scopes, created, revoked) in rows.decode((Int64, String, String, [String], String, String?).self) {
            records.append(APIKeyRecord(id: id, name: name, prefix: prefix, scopes: scopes, createdAt: created, revokedAt: revoked))
        }
        return records
    }

    /// Revokes the key with this id or prefix; false when none matched.
    public func revoke(_ idOrPrefix: String) async throws -> Bool {
        let id = Int64(idOrPrefix) ?? -1
        let rows = try await client.boundedQuery(
            """
            UPDATE tidemark_api_keys SET revoked_at = now()
            WHERE revoked_at IS NULL AND (id = \(id) OR prefix = \(idOrPrefix)) RETURNING id
            """, logger: logger)
        var revoked = false
        for try await _ in rows.decode(Int64.self) { revoked = true }
        return revoked
    }

    /// The scopes of a valid, unrevoked key; nil for an unknown or revoked one.
    public func scopes(of key: String) async throws -> Set<APIScope>? {
        let rows = try await client.boundedQuery(
            "SELECT scopes FROM tidemark_api_keys WHERE key_sha256 = \(ByteBuffer(bytes: Self.digest(key))) AND revoked_at IS NULL",
            logger: logger)
        for try await scopes in rows.decode([String].self) {
            return Set(scopes.compactMap(APIScope.init(rawValue:)))
        }
        return nil
    }
}

extension APIKeyStore {
    /// Opens a session for a valid key that may query; nil when the key is unknown, revoked,
    /// or has neither `query` nor `admin`. Expired sessions are swept at the same time.
    public func openSession(key: String, lifetimeSeconds: Int) async throws -> (token: String, expiresAt: String)? {
        let token = "tms_" + Self.randomSecret()
        try await client.boundedQuery("DELETE FROM tidemark_sessions WHERE expires_at < now()", logger: logger)
        let rows = try await client.boundedQuery(
            """
            INSERT INTO tidemark_sessions (token_sha256, key_id, expires_at)
            SELECT \(ByteBuffer(bytes: Self.digest(token))), id, now() + make_interval(secs => \(lifetimeSeconds))
            FROM tidemark_api_keys
            WHERE key_sha256 = \(ByteBuffer(bytes: Self.digest(key))) AND revoked_at IS NULL AND scopes && ARRAY['query', 'admin']::text[]
            RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            """, logger: logger)
        for try await expiresAt in rows.decode(String.self) { return (token, expiresAt) }
        return nil
    }

    /// Whether the session is open, unexpired, and its key not revoked.
    public func isSessionValid(token: String) async throws -> Bool {
        let rows = try await client.boundedQuery(
            """
            SELECT 1 FROM tidemark_sessions s JOIN tidemark_api_keys k ON k.id = s.key_id
            WHERE s.token_sha256 = \(ByteBuffer(bytes: Self.digest(token))) AND s.expires_at > now() AND k.revoked_at IS NULL
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public func closeSession(token: String) async throws {
        try await client.boundedQuery("DELETE FROM tidemark_sessions WHERE token_sha256 = \(ByteBuffer(bytes: Self.digest(token)))", logger: logger)
    }
}

public struct KeyStoreFailure: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
