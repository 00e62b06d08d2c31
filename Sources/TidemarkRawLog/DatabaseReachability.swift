import NIOCore
import NIOPosix

/// Whether anything accepts TCP connections at the database's address.
///
/// A cheap question that tells "PostgreSQL is down" (refused at once) from "PostgreSQL is
/// slow" (accepted, then a slow start-up handshake), which a waiting lease request cannot.
public struct DatabaseReachability: Sendable {
    public var host: String
    public var port: Int
    public var timeout: Duration

    public init(host: String, port: Int, timeout: Duration = .seconds(1)) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    public init(_ url: DatabaseURL, timeout: Duration = .seconds(1)) {
        self.init(host: url.host, port: url.port, timeout: timeout)
    }

    public func answers() async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(timeout))
                .connect(host: host, port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
