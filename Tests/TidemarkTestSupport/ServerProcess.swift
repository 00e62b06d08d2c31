import Foundation
import TidemarkEmbeddedPostgres

#if canImport(Glibc)
    import Glibc
#endif

/// `tidemark serve` as a separate process, so a test can kill it for real.
public struct ServerProcess: Sendable {
    public let child: ChildProcess
    public let port: Int
    public let logPath: String

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The `tidemark` binary built with the tests (`TIDEMARK_BINARY`, else `.build/debug/tidemark`).
    public static var binary: String {
        ProcessInfo.processInfo.environment["TIDEMARK_BINARY"] ?? FileManager.default.currentDirectoryPath + "/.build/debug/tidemark"
    }

    /// `TIDEMARK_TEST_SERVER_LOG_LEVEL` (default `warning`): `debug` shows, among others, which
    /// service a shutdown is waiting for.
    public static var logLevel: String {
        ProcessInfo.processInfo.environment["TIDEMARK_TEST_SERVER_LOG_LEVEL"] ?? "warning"
    }

    /// Starts the server on a free port and waits until it listens.
    public static func start(databaseURL: String, logLevel: String = logLevel, extraArguments: [String] = []) async throws -> ServerProcess {
        try await start(
            arguments: [
                "--database-url", databaseURL, "--port", "0", "--log-level", logLevel, "--pipelines", ShippedPipelines.directory, "--no-auth",
            ] + extraArguments)
    }

    /// `tidemark serve` with exactly these arguments and extra environment variables.
    public static func start(arguments: [String], environment: [String: String] = [:]) async throws -> ServerProcess {
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-serve-\(UUID().uuidString).log").path
        let child = try ChildProcess.spawn([binary, "serve"] + arguments, environment: environment, outputPath: logPath)
        // Generous: on a 2-core CI machine running the whole suite a start can take a while.
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = log.range(of: "tidemark listening on http://127.0.0.1:") {
                let digits = log[range.upperBound...].prefix(while: \.isNumber)
                if let port = Int(digits) { return ServerProcess(child: child, port: port, logPath: logPath) }
            }
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                throw ChildProcessError.exited(log: log)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.signal(SIGKILL)
        _ = try? await child.exitStatus()
        throw ChildProcessError.exited(log: "did not start listening within 180 s")
    }

    public func kill() async throws -> Int32 {
        child.signal(SIGKILL)
        return try await child.exitStatus()
    }

    /// SIGTERM, then the exit status; a server still running after `limit` is killed and
    /// the test fails, rather than the suite waiting for it forever.
    public func terminate(within limit: Duration = .seconds(90)) async throws -> Int32 {
        child.signal(SIGTERM)
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            let reaped = waitpid(child.pid, &status, WNOHANG)
            if reaped == child.pid { return ChildProcess.exitCode(fromWaitStatus: status) }
            if reaped < 0 { return try await child.exitStatus() }
            try await Task.sleep(for: .milliseconds(50))
        }
        killNow()
        throw ServerDidNotStop(log: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    /// For `defer` blocks, which cannot await: kills and reaps at once.
    public func killNow() {
        child.signal(SIGKILL)
        _ = try? child.wait()
    }
}

extension ChildProcessError {
    static func exited(log: String) -> any Error {
        ServerDidNotStart(log: log)
    }
}

public struct ServerDidNotStop: Error, CustomStringConvertible {
    public var log: String
    public var description: String {
        // Which services stopped and which did not (logged at debug level), then the end.
        let shutdown = log.split(separator: "\n").filter { $0.contains("[ServiceLifecycle]") || $0.contains("service stopped") }
        return
            "tidemark serve did not stop after SIGTERM; shutdown steps:\n\(shutdown.suffix(30).joined(separator: "\n"))\nlog end: \(log.suffix(1_500))"
    }
}

public struct ServerDidNotStart: Error, CustomStringConvertible {
    public var log: String
    public var description: String { "tidemark serve did not start: \(log)" }
}
