import PostgresNIO

/// Tells an outage (answer 503, retry later) from a query PostgreSQL refused (a bug or bad
/// data: answer 500 and log it), so that real failures do not hide as "unavailable".
public enum DatabaseFailure {
    public static func isOutage(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else {
            // Pool and connection failures of PostgresNIO, timeouts: not a verdict on the query.
            return !(error is DecodingError)
        }
        guard error.code == .server else { return true }  // connection closed, refused, timed out
        // SQLSTATE classes that mean the server, not the query: connection exceptions (08),
        // insufficient resources (53), operator intervention such as a shutdown (57), and
        // serialisation failures and deadlocks that a retry resolves (40).
        let state = error.serverInfo?[.sqlState] ?? ""
        return ["08", "53", "57", "40"].contains(String(state.prefix(2)))
    }
}
