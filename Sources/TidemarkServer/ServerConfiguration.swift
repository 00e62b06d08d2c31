import TidemarkAlerts
import TidemarkEvents
import TidemarkIngest
import TidemarkPipelines
import TidemarkRawLog
import TidemarkSpeed

/// Everything `tidemark serve` needs, passed in rather than read from globals.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    public var database: DatabaseURL
    public var validation = ValidationRules()
    public var ingestLimits = IngestLimits()
    public var groupCommit = GroupCommitConfiguration()
    /// A connection with no request data for this long is closed (slow or stalled clients).
    public var idleTimeout: Duration = .seconds(30)
    /// Connections in the pool; the group commit needs one, the rest serve queries.
    public var databaseConnections: Int = 8

    /// The views, from `Pipelines/`.
    public var pipelines: PipelineCatalog
    public var speed = SpeedTailer.Configuration()
    /// Every endpoint but health and metrics needs an API key with the right scope; false
    /// only with `--no-auth`.
    public var requireAPIKeys = true
    /// Alert evaluation and webhook notifications.
    public var alerts = AlertsConfiguration()
    /// Where `/metrics` reads from; each server gets its own registry.
    public var metrics = ServerMetrics()

    public init(database: DatabaseURL, pipelines: PipelineCatalog) {
        self.database = database
        self.pipelines = pipelines
    }
}
