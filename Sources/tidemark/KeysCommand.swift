import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import TidemarkAuth
import TidemarkRawLog

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "API keys: create (shown once), list, revoke.",
        subcommands: [KeysCreateCommand.self, KeysListCommand.self, KeysRevokeCommand.self])
}

struct KeysCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an API key and print it; only its SHA-256 is stored, so it cannot be shown again.")

    @Option(help: "A name to recognise the key by (who or what uses it).")
    var name: String
    @Option(help: "Comma-separated scopes: ingest (POST /v1/events), query (views, stock, dashboard), admin (everything).")
    var scope: String
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        var scopes: Set<APIScope> = []
        for part in scope.split(separator: ",") {
            guard let parsed = APIScope(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown scope '\(part)'; valid: \(APIScope.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            scopes.insert(parsed)
        }
        guard !scopes.isEmpty else { throw ValidationError("--scope needs at least one of ingest, query, admin") }
        let logger = try logging.makeLogger(label: "tidemark.keys")
        let chosen = scopes
        let created = try await database.withMigratedClient(logger: logger) { client in
            return try await APIKeyStore(client: client, logger: logger).create(name: name, scopes: chosen)
        }
        print(created.key)
        FileHandle.standardError.write(
            Data("key \(created.record.id) '\(name)' (\(created.record.scopes.joined(separator: ","))) created; it is shown only now\n".utf8))
    }
}

struct KeysListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the keys (never the keys themselves).")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger(label: "tidemark.keys")
        let records = try await database.withMigratedClient(logger: logger) { client in
            return try await APIKeyStore(client: client, logger: logger).list()
        }
        print("id     prefix        scopes              created (UTC)         revoked (UTC)         name")
        for record in records {
            print(
                [
                    String(record.id).padding(6), record.prefix.padding(13), record.scopes.joined(separator: ",").padding(19),
                    record.createdAt.padding(21), (record.revokedAt ?? "-").padding(21), record.name,
                ].joined(separator: " "))
        }
    }
}

struct KeysRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a key by id or prefix; servers refuse it within \(APIKeyAuthenticator.cacheSeconds) s.")
    @Argument(help: "The key's id or prefix, as `tidemark keys list` shows them.")
    var key: String
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger(label: "tidemark.keys")
        let revoked = try await database.withMigratedClient(logger: logger) { client in
            return try await APIKeyStore(client: client, logger: logger).revoke(key)
        }
        guard revoked else {
            FileHandle.standardError.write(Data("no active key has id or prefix '\(key)'\n".utf8))
            throw ExitCode.failure
        }
        print("revoked \(key)")
    }
}
