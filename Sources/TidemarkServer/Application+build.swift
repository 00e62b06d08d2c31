import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import TidemarkAPI
import TidemarkAlerts
import TidemarkAuth
import TidemarkDashboard
import TidemarkEvents
import TidemarkIngest
import TidemarkPipelines
import TidemarkRawLog
import TidemarkServing
import TidemarkSpeed

/// The request context of every route.
public typealias TidemarkRequestContext = BasicRequestContext

/// Builds the server: the PostgreSQL pool, the group commit, and the routes, wired together.
/// Migrations run before the server accepts requests.
public func buildApplication(
    configuration: ServerConfiguration, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let parts = buildServerParts(configuration: configuration, logger: logger)
    var app = Application(
        router: parts.router,
        server: .http1(configuration: .init(idleTimeout: TimeAmount(configuration.idleTimeout)), fastPath: parts.ingestFastPath),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: ServerParts.serverName),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
    app.addServices(parts.services)
    app.beforeServerStarts { [client = parts.client] in
        let applied = try await Migrator().migrate(client: client, logger: logger)
        if !applied.isEmpty { logger.info("migrations applied", metadata: ["versions": "\(applied)"]) }
    }
    return app
}

/// The router with every route, and the services its handlers need, built but not running.
/// Separate from `buildApplication` so tests can list the routes without starting a server.
public struct ServerParts {
    public let router: Router<TidemarkRequestContext>
    let client: PostgresClient
    let services: [any Service]
    /// Nil when every request is to be logged (debug level): then the router answers them all.
    let ingestFastPath: IngestFastPathConfiguration?

    static let serverName = "tidemark"
}

/// Creates the pool, the group commit, the speed layer and the router; connects to nothing.
public func buildServerParts(configuration: ServerConfiguration, logger: Logger) -> ServerParts {
    var clientConfiguration = configuration.database.clientConfiguration()
    clientConfiguration.options.maximumConnections = configuration.databaseConnections
    let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
    let speed = SpeedLayer(catalog: configuration.pipelines)
    var speedConfiguration = configuration.speed
    speedConfiguration.futureSkew = .seconds(configuration.validation.maxFutureSkewSeconds)
    let metrics = configuration.metrics
    let tailer = SpeedTailer(speed: speed, client: client, configuration: speedConfiguration, logger: logger, metrics: metrics.factory)
    let ingestMetrics = IngestMetrics(factory: metrics.factory)
    var groupCommit = configuration.groupCommit
    // Each writer holds a connection while it writes batches in a row: one is left for queries.
    groupCommit.writers = max(1, min(groupCommit.writers, configuration.databaseConnections - 1))
    let committer = GroupCommitter(
        store: RawLogWriter(client: client, reachability: DatabaseReachability(configuration.database)),
        configuration: groupCommit, logger: logger,
        metrics: ingestMetrics, onCommit: { tailer.handOff($0) })
    let engine = QueryEngine(speed: speed, tailer: tailer, batchReader: BatchReader(client: client, logger: logger))
    let alerts = AlertsParts(configuration: configuration, client: client, speed: speed, engine: engine, logger: logger)

    // HEAD answers for every GET route: HTTP servers must take both.
    let router = Router(context: TidemarkRequestContext.self, options: .autoGenerateHeadEndpoints)
    let requestMetrics = RequestMetricHandles(factory: metrics.factory)
    router.add(middleware: RequestMetricsMiddleware(handles: requestMetrics))
    // Every request at debug level (`--log-level debug`), with its hb.request.id.
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.get("healthz") { _, _ in try jsonResponse(["status": "ok"]) }
    router.get("metrics") { _, _ in
        let text = await metrics.scrape(committer: committer, speed: speed, client: client, alerts: alerts.store, logger: logger)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    router.get("openapi.yaml") { _, _ in OpenAPIDocument.response }
    router.get("readyz") { _, _ in
        guard await committer.databaseAnswers(within: .seconds(1)) else {
            throw APIError(.serviceUnavailable, code: "not_ready", message: "the database is unreachable", retryAfterSeconds: 2)
        }
        guard speed.isCaughtUp else {
            throw APIError(.serviceUnavailable, code: "not_ready", message: "the speed layer is still reading the raw log", retryAfterSeconds: 1)
        }
        return try jsonResponse(["status": "ready"])
    }
    let authenticator = APIKeyAuthenticator(store: configuration.requireAPIKeys ? APIKeyStore(client: client, logger: logger) : nil)
    if !configuration.requireAPIKeys {
        logger.warning("AUTHENTICATION IS OFF (--no-auth): every endpoint answers anyone who can reach this address")
    }
    let ingestRoutes = router.group("v1").add(middleware: RequireScope(.ingest, authenticator: authenticator))
    let queryRoutes = router.group("v1").add(middleware: RequireScope(.query, authenticator: authenticator))
    let adminRoutes = router.group("v1").add(middleware: RequireScope(.admin, authenticator: authenticator))
    let events = EventsController<TidemarkRequestContext>(
        committer: committer, validator: EventValidator(rules: configuration.validation), limits: configuration.ingestLimits)
    events.addRoutes(to: ingestRoutes)
    let ingested = requestMetrics.metrics(route: "/v1/events", method: .post, status: 200)
    let ingestFastPath = IngestFastPathConfiguration(
        committer: committer, reader: events.reader,
        isAuthorized: { authenticator.grantsWithoutLookup(authorization: $0[.authorization], scope: .ingest) },
        answered: { ingested.record(since: $0) },
        serverName: ServerParts.serverName, metrics: ingestMetrics)
    ViewsController<TidemarkRequestContext>(
        catalog: configuration.pipelines, engine: engine, metrics: metrics.factory, reorderPoints: alerts.resolver
    ).addRoutes(to: queryRoutes)
    AlertsController<TidemarkRequestContext>(
        reorderPoints: alerts.reorderPoints, alerts: alerts.store, onReorderPointsChanged: { alerts.evaluator.wake() }
    ).addRoutes(query: queryRoutes, admin: adminRoutes)
    RollingController<TidemarkRequestContext>(rolling: speed.rolling, metrics: metrics.factory).addRoutes(to: queryRoutes)
    SessionController<TidemarkRequestContext>(authenticator: authenticator).addRoutes(to: router.group("v1"))
    let firingAlerts: @Sendable () async throws -> [DashboardAlert] = {
        var firing = AlertStore.Filter()
        firing.state = .firing
        firing.limit = 200
        return try await alerts.store.list(firing).map {
            DashboardAlert(
                kind: $0.key.kind.rawValue, store: $0.key.storeID, product: $0.key.productID, onHand: $0.figures.onHand,
                reorderPoint: $0.figures.reorderPoint, firedAt: $0.firedAt)
        }
    }
    let dashboard = DashboardSource(
        engine: engine, catalog: configuration.pipelines, client: client, logger: logger, rolling: RollingEngine(rolling: speed.rolling),
        alerts: firingAlerts)
    DashboardController<TidemarkRequestContext>(source: dashboard, authenticator: authenticator, currency: configuration.validation.currency)
        .addRoutes(pages: router, reports: queryRoutes)
    // Last: it then wraps only the not-found answer (see the type).
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))

    return ServerParts(
        router: router, client: client,
        services: [
            client, committer, MigratedService(tailer, alerts.evaluator, alerts.deliverer, client: client, logger: logger),
        ],
        ingestFastPath: logger.logLevel <= .debug ? nil : ingestFastPath)
}

/// Reorder points, alert evaluation and webhook delivery, over the server's pool and serving layer.
struct AlertsParts {
    let reorderPoints: ReorderPointStore
    let store: AlertStore
    let resolver: ReorderPointResolver
    let evaluator: AlertEvaluator
    let deliverer: WebhookDeliverer

    init(configuration: ServerConfiguration, client: PostgresClient, speed: SpeedLayer, engine: QueryEngine, logger: Logger) {
        reorderPoints = ReorderPointStore(client: client, logger: logger)
        store = AlertStore(client: client, logger: logger)
        let categories = ProductCategories(client: client, logger: logger)
        resolver = ReorderPointResolver(store: reorderPoints, categories: categories)
        let deliverer = WebhookDeliverer(
            store: WebhookDeliveryStore(client: client, logger: logger), configuration: configuration.alerts.webhook,
            metrics: configuration.metrics.factory, logger: logger)
        self.deliverer = deliverer
        evaluator = AlertEvaluator(
            speed: speed, reader: StockReader(engine: engine, catalog: configuration.pipelines), categories: categories, store: store,
            configuration: configuration.alerts, logger: logger,
            onTransitions: { deliverer.wake() })
    }
}
