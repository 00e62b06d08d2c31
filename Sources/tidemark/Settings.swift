import ArgumentParser
import Configuration
import Foundation
import SystemPackage
import Yams

/// Every setting of `tidemark serve` (and the shared database, pipelines and logging
/// settings of the other commands), from three places in this order: a flag, then an
/// environment variable, then the optional YAML file of `--config`. docs/CONFIGURATION.md is
/// the table of them all.
///
/// swift-configuration does the layering and the environment names (key `maxBodyBytes` is
/// `TIDEMARK_MAX_BODY_BYTES`); flags stay with swift-argument-parser, which writes `--help`.
struct Settings: Sendable {
    /// The keys a file may hold; anything else in it is a mistake worth stopping for.
    static let keys: Set<String> = [
        "host", "port", "currency", "maxFutureSeconds", "maxBodyBytes", "bodyTimeoutSeconds", "idleTimeoutSeconds", "queueCapacity",
        "lingerMs", "databaseConnections", "noAuth", "databaseUrl", "dataDir", "pipelines", "logLevel", "logFormat", "alertIntervalMs",
        "webhookUrls", "webhookSecret", "webhookMaxAttempts", "webhookBackoffMs", "webhookTimeoutMs",
    ]

    private let reader: ConfigReader
    /// Where a value came from, for error messages.
    private let fileDescription: String?

    /// Environment and, if given, the file. `DATABASE_URL` and `LOG_LEVEL` are also read,
    /// under the names most hosting platforms set.
    static func load(configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Settings {
        var providers = environmentProviders(environment)
        if let configFile {
            try checkKeys(ofFile: configFile)
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(configFile)))
            } catch {
                throw ValidationError("cannot read the configuration file \(configFile): \(error)")
            }
        }
        return Settings(reader: ConfigReader(providers: providers), fileDescription: configFile)
    }

    /// Only the environment: for commands run without `--config`.
    static func environmentOnly(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Settings {
        Settings(reader: ConfigReader(providers: environmentProviders(environment)), fileDescription: nil)
    }

    private static func environmentProviders(_ environment: [String: String]) -> [any ConfigProvider] {
        let set = environment.filter { !$0.value.isEmpty }
        var common: [AbsoluteConfigKey: ConfigValue] = [:]
        if let url = set["DATABASE_URL"] { common["databaseUrl"] = ConfigValue(.string(url), isSecret: true) }
        if let level = set["LOG_LEVEL"] { common["logLevel"] = ConfigValue(.string(level), isSecret: false) }
        return [
            EnvironmentVariablesProvider(
                environmentVariables: set, secretsSpecifier: .specific(["TIDEMARK_DATABASE_URL", "TIDEMARK_WEBHOOK_SECRET"])
            )
            .prefixKeys(with: "tidemark"),
            InMemoryProvider(values: common),
        ]
    }

    /// A misspelt key in a file would otherwise be ignored in silence.
    private static func checkKeys(ofFile path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the configuration file \(path)")
        }
        let top: Any?
        do {
            top = try Yams.load(yaml: text)
        } catch {
            throw ValidationError("\(path) is not valid YAML: \(error)")
        }
        guard let mapping = top as? [String: Any] else {
            throw ValidationError("\(path) must be a YAML mapping of settings, such as `port: 8080`")
        }
        let unknown = Set(mapping.keys).subtracting(keys).sorted()
        guard unknown.isEmpty else {
            throw ValidationError(
                "\(path): unknown setting(s) \(unknown.joined(separator: ", ")); the settings are \(keys.sorted().joined(separator: ", "))")
        }
    }

    /// Strings cannot have the wrong type, so this one needs no `try`.
    func string(_ key: String, flag: String?) -> String? {
        flag ?? reader.string(forKey: ConfigKey(key))
    }

    /// A list: the flag's values when repeated on the command line, else the environment
    /// variable's comma-separated values, else the file's YAML list.
    func strings(_ key: String, flag: [String]) async throws -> [String] {
        if !flag.isEmpty { return flag }
        return try await explained(key) { try await reader.fetchStringArray(forKey: ConfigKey(key)) } ?? []
    }

    func int(_ key: String, flag: Int?) async throws -> Int? {
        if let flag { return flag }
        return try await explained(key) { try await reader.fetchInt(forKey: ConfigKey(key)) }
    }

    func bool(_ key: String, flag: Bool) async throws -> Bool {
        if flag { return true }
        return try await explained(key) { try await reader.fetchBool(forKey: ConfigKey(key)) } ?? false
    }

    static func environmentName(_ key: String) -> String {
        "TIDEMARK_"
            + key.reduce(into: "") { name, character in
                if character.isUppercase { name += "_" }
                name += character.uppercased()
            }
    }

    private func explained<Value>(_ key: String, _ read: () async throws -> Value?) async throws -> Value? {
        do {
            return try await read()
        } catch {
            let file = fileDescription.map { " or `\(key)` in \($0)" } ?? ""
            throw ValidationError("setting \(key) (\(Self.environmentName(key))\(file)) has a value of the wrong type: \(error)")
        }
    }
}
