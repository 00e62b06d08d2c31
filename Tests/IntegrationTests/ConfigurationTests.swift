import Foundation
import Testing
import TidemarkRawLog
import TidemarkTestSupport

/// `tidemark serve` settings come from a flag, else the environment, else the `--config` file.
@Suite struct ConfigurationTests {
    static func writeConfig(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Which currency the server accepts tells which source won.
    static func acceptedCurrency(_ server: ServerProcess) async throws -> String? {
        let http = HTTPTestClient(baseURL: server.baseURL)
        for currency in ["EUR", "BRL", "GBP"] {
            let event = Sample.saleJSON(id: "cfg-\(currency)-\(UUID().uuidString)", overriding: ["currency": currency])
            if try await http.post("/v1/events", text: event).status == 200 { return currency }
        }
        return nil
    }

    @Test func flagsWinOverEnvironmentWhichWinsOverTheFile() async throws {
        try await TestDatabase.withFreshDatabase { url, _ in
            let file = try Self.writeConfig(
                """
                # A whole server from the file: database, views, port, currency, no keys.
                databaseUrl: \(url.urlString)
                pipelines: \(ShippedPipelines.directory)
                port: 0
                currency: EUR
                noAuth: true
                logLevel: warning
                """)
            let fromFile = try await ServerProcess.start(arguments: ["--config", file])
            #expect(try await Self.acceptedCurrency(fromFile) == "EUR")
            #expect(try await fromFile.terminate() == 0)

            let fromEnvironment = try await ServerProcess.start(arguments: [], environment: ["TIDEMARK_CONFIG": file, "TIDEMARK_CURRENCY": "BRL"])
            #expect(try await Self.acceptedCurrency(fromEnvironment) == "BRL")
            #expect(try await fromEnvironment.terminate() == 0)

            let fromFlag = try await ServerProcess.start(
                arguments: ["--config", file, "--currency", "GBP"], environment: ["TIDEMARK_CURRENCY": "BRL"])
            #expect(try await Self.acceptedCurrency(fromFlag) == "GBP")
            #expect(try await fromFlag.terminate() == 0)
        }
    }

    @Test(arguments: [
        ("prot: 8080\n", "unknown setting(s) prot"),
        ("port: [1, 2]\n", "port"),
        ("port: 70000\n", "port must be between 0 and 65535"),
        ("maxBodyBytes: -5\n", "maxBodyBytes must be greater than 0"),
        ("currency: euro\n", "currency must be an ISO 4217 code"),
        ("- port\n", "must be a YAML mapping"),
        ("port: [\n", "not valid YAML"),
        ("webhookUrls: [\"http://127.0.0.1:9/hook\"]\n", "webhookUrls need webhookSecret"),
        ("webhookUrls: [\"ftp://127.0.0.1/hook\"]\nwebhookSecret: s\n", "is not an http:// or https:// URL"),
        ("alertIntervalMs: 0\n", "alertIntervalMs must be greater than 0"),
        ("webhookMaxAttempts: many\n", "webhookMaxAttempts"),
    ])
    func badFilesStopTheServerWithTheSettingNamed(text: String, message: String) async throws {
        let file = try Self.writeConfig(text)
        let run = try await TidemarkCommand.run([
            "serve", "--config", file, "--pipelines", ShippedPipelines.directory, "--database-url", "postgres://x@127.0.0.1:1/x",
        ])
        #expect(run.status != 0)
        #expect(run.output.contains(message), "\(run.output)")
    }
}
