import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and captures what it printed.
///
/// Uses `posix_spawn` and `waitpid` rather than `Foundation.Process`, whose exit monitoring on
/// Linux was seen to miss the exit of `pg_ctl start` (the server it leaves behind keeps
/// running), leaving the caller waiting forever.
struct CommandRunner: Sendable {
    /// Set when the commands must run as another user (`postgres` when Tidemark runs as root).
    var runAsUser: String?

    struct Output {
        var status: Int32
        var text: String
    }

    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let argv: [String] = runAsUser.map { ["/usr/sbin/runuser", "-u", $0, "--", executable] + arguments } ?? [executable] + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }

        // Output goes to a file, not a pipe: `pg_ctl start` leaves the server holding the
        // descriptors it inherited, and a pipe would then never reach end-of-file.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-cmd-\(UUID().uuidString).log").path
        let outputFD = open(outputPath, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600)
        guard outputFD >= 0 else { throw CommandError("cannot create \(outputPath): \(String(cString: strerror(errno)))") }
        defer {
            close(outputFD)
            unlink(outputPath)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)

        var pid: pid_t = 0
        let status = withCStrings(argv) { cArgv in
            withCStrings(env.map { "\($0.key)=\($0.value)" }) { cEnv in
                posix_spawn(&pid, argv[0], &actions, nil, cArgv, cEnv)
            }
        }
        guard status == 0 else { throw CommandError("cannot run \(argv[0]): \(String(cString: strerror(status)))") }
        var exitStatus: Int32 = 0
        while waitpid(pid, &exitStatus, 0) < 0 {
            guard errno == EINTR else { throw CommandError("waiting for \(argv[0]) failed: \(String(cString: strerror(errno)))") }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS, which Swift does not import as macros.
        let code: Int32 = (exitStatus & 0x7F) == 0 ? (exitStatus >> 8) & 0xFF : 128 + (exitStatus & 0x7F)
        return Output(status: code, text: text)
    }
}

struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
