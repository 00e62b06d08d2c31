import Logging
import PostgresNIO
import Testing
import TidemarkRawLog
import TidemarkTestSupport

@Suite struct MigrationTests {
    @Test func migratingTwiceAndConcurrentlyAppliesEachVersionOnce() async throws {
        try await TestDatabase.withFreshDatabase(migrated: false) { url, client in
            // Four processes' worth of migrators start together on an empty database.
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await TestDatabase.withClient(url) { other in
                            try await Migrator().migrate(client: other, logger: TestServer.quietLogger)
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(applied.sorted() == Migrations.all.map(\.version), "each version applied by exactly one migrator")
            #expect(try await Migrator().migrate(client: client, logger: TestServer.quietLogger).isEmpty)
            let rows = try await client.scalar("SELECT count(*)::bigint FROM tidemark_migrations")
            #expect(rows == Migrations.all.count)
        }
    }

    @Test func rawLogRefusesUpdatesAndDeletes() async throws {
        try await TestDatabase.withFreshDatabase { _, client in
            try await client.query(
                "INSERT INTO events (id, type, occurred_at, store_id, product_id, quantity, unit_price_cents) VALUES ('x', 'sale', now(), 'S', 'P', 1, 1)",
                logger: TestServer.quietLogger)
            await #expect(throws: PSQLError.self) {
                try await client.query("UPDATE events SET quantity = 2", logger: TestServer.quietLogger)
            }
            await #expect(throws: PSQLError.self) {
                try await client.query("DELETE FROM events", logger: TestServer.quietLogger)
            }
            #expect(try await client.scalar("SELECT sum(quantity)::bigint FROM events") == 1)
        }
    }
}
