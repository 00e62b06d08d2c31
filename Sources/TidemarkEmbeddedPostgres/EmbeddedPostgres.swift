import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A private PostgreSQL cluster under one directory, run from the system's binaries.
///
/// Layout of `directory`: `data/` (the cluster), `postgres.log`, `url` (mode 0600, holds the
/// generated password). When Tidemark runs as root the cluster belongs to, and
/// runs as, the `postgres` user, because PostgreSQL refuses to run as root.
public struct EmbeddedPostgres: Sendable {
    public let directory: String
    public let logger: Logger
    public static let databaseName = "tidemark"
    public static let userName = "tidemark"

    public init(directory: String, logger: Logger) {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.logger = logger
    }

    var dataDirectory: String { directory + "/data" }
    var logFile: String { directory + "/postgres.log" }
    var urlFile: String { directory + "/url" }

    /// Creates the cluster if needed and starts it if it is not running.
    /// Idempotent, also when two processes call it at once (a file lock serialises them).
    /// - Returns: the `postgres://` URL of the `tidemark` database.
    public func start() throws(EmbeddedPostgresError) -> String {
        let binaries = try PostgresBinaries.locate()
        let runner = try prepareDirectory()
        return try withDirectoryLock { () throws(EmbeddedPostgresError) -> String in
            if !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") {
                try initialise(binaries: binaries, runner: runner)
            }
            guard let url = try? String(contentsOfFile: urlFile, encoding: .utf8), var components = URLComponents(string: url) else {
                throw EmbeddedPostgresError("\(urlFile) is missing or unreadable; remove \(directory) to create a new cluster")
            }
            if try isRunning(binaries: binaries, runner: runner) {
                try ensureDatabase(binaries: binaries, runner: runner, url: url)
                return url
            }
            var port = components.port ?? 0
            if !Self.isPortFree(port) {
                port = try Self.freePort()
                components.port = port
                let newURL = components.string ?? url
                try write(newURL, to: urlFile)
                logger.info("embedded PostgreSQL moves to a free port", metadata: ["port": "\(port)"])
            }
            try ensureLogFile(runner: runner)
            let started = try runChecked(
                runner, binaries.pgCtl,
                ["start", "-D", dataDirectory, "-w", "-t", "60", "-l", logFile, "-o", "-p \(port)"],
                what: "start PostgreSQL")
            logger.debug("pg_ctl start", metadata: ["output": "\(started)"])
            let finalURL = (try? String(contentsOfFile: urlFile, encoding: .utf8)) ?? url
            try ensureDatabase(binaries: binaries, runner: runner, url: finalURL)
            return finalURL
        }
    }

    /// Stops the cluster if it runs (fast shutdown: sessions are ended, data is flushed).
    /// - Returns: false when it was not running.
    @discardableResult
    public func stop() throws(EmbeddedPostgresError) -> Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return false }
        let binaries = try PostgresBinaries.locate()
        let runner = try prepareDirectory()
        guard try isRunning(binaries: binaries, runner: runner) else { return false }
        _ = try runChecked(runner, binaries.pgCtl, ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60"], what: "stop PostgreSQL")
        return true
    }

    /// The URL of a running cluster, or nil.
    public func runningURL() throws(EmbeddedPostgresError) -> String? {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return nil }
        let binaries = try PostgresBinaries.locate()
        let runner = try prepareDirectory()
        guard try isRunning(binaries: binaries, runner: runner) else { return nil }
        return try? String(contentsOfFile: urlFile, encoding: .utf8)
    }

    // MARK: - Steps

    private func initialise(binaries: PostgresBinaries, runner: CommandRunner) throws(EmbeddedPostgresError) {
        logger.info("creating embedded PostgreSQL cluster", metadata: ["directory": "\(directory)"])
        let password = Self.randomPassword()
        let passwordFile = directory + "/initdb-password"
        try write(password, to: passwordFile)
        try giveToRunner(passwordFile, runner: runner)
        defer { try? FileManager.default.removeItem(atPath: passwordFile) }
        _ = try runChecked(
            runner, binaries.initdb,
            [
                "-D", dataDirectory, "-U", Self.userName, "--pwfile=\(passwordFile)", "--auth-host=scram-sha-256",
                "--auth-local=peer", "--encoding=UTF8", "--locale=C",
            ],
            what: "create the cluster (initdb)")
        let settings = """

            # Tidemark embedded cluster: loopback only, TCP only, sized for a small machine.
            listen_addresses = '127.0.0.1'
            unix_socket_directories = ''
            max_connections = 300
            shared_buffers = 256MB
            max_wal_size = 4GB
            checkpoint_timeout = 15min
            random_page_cost = 1.1
            """
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(settings.utf8))
            try handle.close()
        } catch {
            throw EmbeddedPostgresError("cannot write \(dataDirectory)/postgresql.conf: \(error)")
        }
        let port = try Self.freePort()
        let url = "postgres://\(Self.userName):\(password)@127.0.0.1:\(port)/\(Self.databaseName)?sslmode=disable"
        try write(url, to: urlFile)
    }

    private func ensureDatabase(binaries: PostgresBinaries, runner: CommandRunner, url: String) throws(EmbeddedPostgresError) {
        let marker = directory + "/database-created"
        guard !FileManager.default.fileExists(atPath: marker) else { return }
        guard let components = URLComponents(string: url), let port = components.port, let password = components.password else {
            throw EmbeddedPostgresError("\(urlFile) does not hold a usable URL")
        }
        let output: CommandRunner.Output
        do {
            output = try runner.run(
                binaries.createdb, ["-h", "127.0.0.1", "-p", String(port), "-U", Self.userName, Self.databaseName],
                environment: ["PGPASSWORD": password])
        } catch {
            throw EmbeddedPostgresError("cannot run createdb: \(error)")
        }
        guard output.status == 0 || output.text.contains("already exists") else {
            throw EmbeddedPostgresError("could not create the \(Self.databaseName) database: \(output.text)")
        }
        try write("", to: marker)
    }

    private func isRunning(binaries: PostgresBinaries, runner: CommandRunner) throws(EmbeddedPostgresError) -> Bool {
        do {
            // pg_ctl status: 0 running, 3 not running, 4 no readable data directory.
            return try runner.run(binaries.pgCtl, ["status", "-D", dataDirectory]).status == 0
        } catch {
            throw EmbeddedPostgresError("cannot run \(binaries.pgCtl): \(error)")
        }
    }

    /// Makes `directory` and decides who runs the server.
    private func prepareDirectory() throws(EmbeddedPostgresError) -> CommandRunner {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw EmbeddedPostgresError("cannot create \(directory): \(error)")
        }
        guard geteuid() == 0 else { return CommandRunner() }
        guard let account = getpwnam("postgres") else {
            throw EmbeddedPostgresError(
                "running as root, PostgreSQL must run as the `postgres` user, which does not exist; install the `postgresql` package or run as another user"
            )
        }
        let uid = account.pointee.pw_uid
        let gid = account.pointee.pw_gid
        guard chown(directory, uid, gid) == 0, chmod(directory, 0o700) == 0 else {
            throw EmbeddedPostgresError("cannot hand \(directory) to the postgres user: \(String(cString: strerror(errno)))")
        }
        let runner = CommandRunner(runAsUser: "postgres")
        let reachable = (try? runner.run("/usr/bin/test", ["-w", directory]).status) == 0
        guard reachable else {
            throw EmbeddedPostgresError(
                "the postgres user cannot reach \(directory) (a parent directory is closed to other users); "
                    + "choose another place with --data-dir or TIDEMARK_DATA_DIR, for example /var/lib/tidemark")
        }
        return runner
    }

    private func giveToRunner(_ path: String, runner: CommandRunner) throws(EmbeddedPostgresError) {
        guard runner.runAsUser != nil, let account = getpwnam("postgres") else { return }
        guard chown(path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
            throw EmbeddedPostgresError("cannot hand \(path) to the postgres user: \(String(cString: strerror(errno)))")
        }
    }

    private func ensureLogFile(runner: CommandRunner) throws(EmbeddedPostgresError) {
        if !FileManager.default.fileExists(atPath: logFile) {
            FileManager.default.createFile(atPath: logFile, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        try giveToRunner(logFile, runner: runner)
    }

    private func runChecked(_ runner: CommandRunner, _ executable: String, _ arguments: [String], what: String) throws(EmbeddedPostgresError)
        -> String
    {
        let output: CommandRunner.Output
        do {
            output = try runner.run(executable, arguments)
        } catch {
            throw EmbeddedPostgresError("could not \(what): cannot run \(executable): \(error)")
        }
        guard output.status == 0 else {
            var message = "could not \(what) (exit \(output.status)): \(output.text.trimmingCharacters(in: .whitespacesAndNewlines))"
            if let tail = try? String(contentsOfFile: logFile, encoding: .utf8), !tail.isEmpty {
                message += "\nlast lines of \(logFile):\n" + tail.split(separator: "\n").suffix(10).joined(separator: "\n")
            }
            throw EmbeddedPostgresError(message)
        }
        return output.text
    }

    private func write(_ text: String, to path: String) throws(EmbeddedPostgresError) {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw EmbeddedPostgresError("cannot write \(path)")
        }
    }

    private func withDirectoryLock<T>(_ body: () throws(EmbeddedPostgresError) -> T) throws(EmbeddedPostgresError) -> T {
        let lockPath = directory + "/.lock"
        let descriptor = open(lockPath, O_CREAT | O_RDWR, 0o600)
        guard descriptor >= 0 else { throw EmbeddedPostgresError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw EmbeddedPostgresError("cannot lock \(lockPath)") }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    // MARK: - Ports and secrets

    static func randomPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
    }

    /// A port the kernel considers free on 127.0.0.1 right now.
    static func freePort() throws(EmbeddedPostgresError) -> Int {
        guard let port = bindLoopback(port: 0) else { throw EmbeddedPostgresError("cannot find a free TCP port on 127.0.0.1") }
        return port
    }

    static func isPortFree(_ port: Int) -> Bool {
        port > 0 && bindLoopback(port: port) != nil
    }

    /// Binds a TCP socket on 127.0.0.1 and returns the bound port, or nil if binding failed.
    private static func bindLoopback(port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // PostgreSQL listens with SO_REUSEADDR, so a port that only has connections in
        // TIME_WAIT (just after a stop) is free for it; without this the cluster would move
        // to another port on every quick restart and servers would lose it.
        var reuse: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
