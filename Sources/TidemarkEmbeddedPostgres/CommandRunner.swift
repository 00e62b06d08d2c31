import Foundation

/// Runs a program to completion and captures what it printed.
struct CommandRunner: Sendable {
    /// Set when the commands must run as another user (`postgres` when Tidemark runs as root).
    var runAsUser: String?

    struct Output {
        var status: Int32
        var text: String
    }

    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let argv: [String] = runAsUser.map { ["/usr/sbin/runuser", "-u", $0, "--", executable] + arguments } ?? [executable] + arguments
        // Output goes to a file, not a pipe: `pg_ctl start` leaves the server holding the
        // descriptors it inherited, and a pipe would then never reach end-of-file.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-cmd-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let child = try ChildProcess.spawn(argv, environment: environment, outputPath: outputPath)
        let status = try child.wait()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Output(status: status, text: text)
    }
}
