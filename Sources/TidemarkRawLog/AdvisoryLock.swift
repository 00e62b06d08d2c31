/// PostgreSQL advisory locks that serialise Tidemark's processes sharing one database.
///
/// Two-key form: the first key marks the lock as Tidemark's (ASCII "tide"), the second names it.
public enum AdvisoryLock: Int32, Sendable {
    /// Held while migrations run, so two processes starting together apply each migration once.
    case migrations = 1
    /// Held by every raw-log append transaction until it commits: `seq` values are taken under
    /// it, so they increase in commit order even with several server processes.
    case rawLogAppend = 2
    /// Held (session-scoped) for the whole of a `tidemark batch run`, so two runs never overlap.
    case batchRun = 3
    /// Held (transaction-scoped, tried, not waited for) while one node applies an alert
    /// evaluation, so nodes sharing the database apply them one at a time.
    case alertEvaluation = 4

    public static let namespace: Int32 = 0x7469_6465
}
