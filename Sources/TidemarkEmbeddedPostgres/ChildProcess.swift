import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program started with `posix_spawn`, its output sent to a file.
///
/// Not `Foundation.Process`: on Linux its exit monitoring was seen to miss the exit of
/// `pg_ctl start` (whose server lives on), leaving the caller waiting forever.
public struct ChildProcess: Sendable {
    public let pid: pid_t

    /// Starts `argv[0]` with `argv`, standard input from /dev/null, standard output and
    /// error appended to `outputPath`.
    public static func spawn(_ argv: [String], environment: [String: String] = [:], outputPath: String) throws -> ChildProcess {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let status = withCStrings(argv) { cArgv in
            withCStrings(env.map { "\($0.key)=\($0.value)" }) { cEnv in
                posix_spawn(&pid, argv[0], &actions, nil, cArgv, cEnv)
            }
        }
        guard status == 0 else { throw ChildProcessError("cannot run \(argv[0]): \(String(cString: strerror(status)))") }
        return ChildProcess(pid: pid)
    }

    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the exit on a thread of its own and returns the exit code.
    ///
    /// For async callers: a blocking `waitpid` on one of the few threads of the
    /// concurrency pool starves every other task of the process (on two cores, a test's
    /// in-process server stopped being served while a batch run was awaited).
    public func exitStatus() async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            let waiter = Thread { continuation.resume(with: Result { try wait() }) }
            waiter.name = "waitpid \(pid)"
            waiter.start()
        }
    }

    /// Waits for the exit and returns the exit code (128 + signal number when killed).
    public func wait() throws -> Int32 {
        var exitStatus: Int32 = 0
        while waitpid(pid, &exitStatus, 0) < 0 {
            guard errno == EINTR else { throw ChildProcessError("waiting for pid \(pid) failed: \(String(cString: strerror(errno)))") }
        }
        return Self.exitCode(fromWaitStatus: exitStatus)
    }

    /// The exit code in a `waitpid` status (128 + signal number when killed): `WIFEXITED` and
    /// `WEXITSTATUS`, which Swift does not import as macros.
    public static func exitCode(fromWaitStatus status: Int32) -> Int32 {
        (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}

public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
