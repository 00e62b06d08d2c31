import Foundation

/// Where the system's PostgreSQL server programs are.
public struct PostgresBinaries: Sendable {
    public var directory: String

    public var initdb: String { directory + "/initdb" }
    public var pgCtl: String { directory + "/pg_ctl" }
    public var createdb: String { directory + "/createdb" }

    /// Looks in `pg_config --bindir`, then `/usr/lib/postgresql/<newest>/bin`, then `PATH`.
    public static func locate() throws(EmbeddedPostgresError) -> PostgresBinaries {
        var candidates: [String] = []
        if let bindir = pgConfigBindir() { candidates.append(bindir) }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append("/usr/lib/postgresql/\(version)/bin")
        }
        for path in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append(String(path))
        }
        for directory in candidates {
            let binaries = PostgresBinaries(directory: directory)
            if [binaries.initdb, binaries.pgCtl].allSatisfy(FileManager.default.isExecutableFile(atPath:)) {
                return binaries
            }
        }
        throw EmbeddedPostgresError(
            "PostgreSQL server programs (initdb, pg_ctl) were not found in pg_config --bindir, /usr/lib/postgresql/*/bin or PATH. "
                + "Install them with `apt-get install postgresql` (Debian/Ubuntu), or use an existing server with --database-url.")
    }

    private static func pgConfigBindir() -> String? {
        for pgConfig in ["/usr/bin/pg_config", "/usr/local/bin/pg_config"] where FileManager.default.isExecutableFile(atPath: pgConfig) {
            guard let output = try? CommandRunner().run(pgConfig, ["--bindir"]), output.status == 0 else { continue }
            return output.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }
}

public struct EmbeddedPostgresError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
