import Foundation
import TidemarkEmbeddedPostgres

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's chromium, headless, for the dashboard's browser tests (`scripts/test.sh`
/// installs it). Each call is a fresh browser with its own profile, stopped by itself.
public enum HeadlessChromium {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static var binary: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The DOM after the page's scripts ran for `budgetMilliseconds` of virtual time (timers
    /// included, so the dashboard's refresh runs too).
    public static func dom(of url: String, budgetMilliseconds: Int = 3_000, windowSize: String = "1280,900") async throws -> String {
        let output = try await run(["--dump-dom", "--virtual-time-budget=\(budgetMilliseconds)", "--window-size=\(windowSize)", url]).output
        // Chromium's own log lines share the output; the document is what lies between the tags.
        guard let start = output.range(of: "<html"), let end = output.range(of: "</html>", options: .backwards) else {
            throw Failure(description: "chromium printed no document: \(output.suffix(2_000))")
        }
        // Chromium writes a no-break space (money in Portuguese has one) as an entity.
        return String(output[start.lowerBound..<end.upperBound]).replacingOccurrences(of: "&nbsp;", with: "\u{00A0}")
    }

    /// A PNG of the page at this window size.
    public static func screenshot(of url: String, to path: String, windowSize: String) async throws {
        _ = try await run(["--screenshot=\(path)", "--window-size=\(windowSize)", "--virtual-time-budget=2000", "--hide-scrollbars", url])
        guard FileManager.default.fileExists(atPath: path) else { throw Failure(description: "chromium wrote no screenshot to \(path)") }
    }

    private static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        guard let binary else { throw Failure(description: "chromium is not installed (scripts/test.sh installs it)") }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-chromium-\(UUID().uuidString)").path
        let outputPath = profile + ".out"
        defer {
            try? FileManager.default.removeItem(atPath: profile)
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        // --no-sandbox: the tests run as root in CI, where chromium's sandbox cannot start.
        let child = try ChildProcess.spawn(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)"] + arguments,
            outputPath: outputPath)
        let watchdog = Task {
            try await Task.sleep(for: .seconds(90))
            child.signal(SIGKILL)
        }
        let status = try await child.exitStatus()
        watchdog.cancel()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw Failure(description: "chromium exited with \(status): \(output.suffix(2_000))") }
        return (status, output)
    }
}
