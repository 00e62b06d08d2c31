import Foundation
import PostgresNIO
import Testing
import TidemarkArchive
import TidemarkEmbeddedPostgres
import TidemarkEvents
import TidemarkLoader
import TidemarkRawLog
import TidemarkTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `tidemark archive` as the nightly job runs it, over a real PostgreSQL, and `tidemark load`
/// restoring what it wrote.
@Suite struct ArchiveTests {
    static let cutoff = "2026-11-20"
    static let archivedDays = ["2026-11-17", "2026-11-18", "2026-11-19"]

    /// Events on 2026-11-17 to 2026-11-20, days interleaved in seq order and, within a day, later
    /// seqs at earlier times; every type and optional field; one event a microsecond before the
    /// cutoff and one exactly at it.
    static func events() -> [Event] {
        var events: [Event] = (0..<120).map { index in
            let day = try! Timestamp(rfc3339: "2026-11-\(17 + index % 4)T00:00:00Z")
            let at = day.adding(seconds: Int64(119 - index) * 97).adding(microseconds: Int64(index))
            let payload: EventPayload
            switch index % 6 {
            case 0:
                payload = .sale(
                    SaleLine(
                        quantity: 2, unitPriceCents: 1_299, category: "dairy", customerID: "C\(index)", orderID: "R-\(index)", channel: "web",
                        currency: "USD"))
            case 1: payload = .sale(SaleLine(quantity: 1, unitPriceCents: 0))
            case 2: payload = .return(SaleLine(quantity: 1, unitPriceCents: 450, category: "bakery \"fresh\" / ü"))
            case 3: payload = .stock(.receipt, quantity: 40)
            case 4: payload = .stock(index % 4 == 0 ? .count : .adjustment, quantity: index % 4 == 0 ? 7 : -3)
            default: payload = .price(cents: 199)
            }
            return Event(id: "e-\(index)", occurredAt: at, storeID: "S\(index % 3)", productID: "P\(index % 5)", payload: payload)
        }
        let cutoff = try! Timestamp(rfc3339: "2026-11-20T00:00:00Z")
        events.append(Sample.sale("edge-before", at: cutoff.adding(microseconds: -1)))
        events.append(Sample.sale("edge-at", at: cutoff))
        return events
    }

    static func write(_ events: [Event], _ client: PostgresClient) async throws {
        // Several appends, so days interleave across transactions too.
        for start in stride(from: 0, to: events.count, by: 50) {
            _ = try await RawLogWriter(client: client).append(Array(events[start..<min(start + 50, events.count)]), logger: TestServer.quietLogger)
        }
    }

    static func archive(_ url: DatabaseURL, _ folder: String, before: String = cutoff) async throws -> (status: Int32, output: String) {
        try await TidemarkCommand.run(["archive", "--before", before, "--out", folder, "--database-url", url.urlString, "--log-level", "warning"])
    }

    static func withFolder<Result>(_ body: (String) async throws -> Result) async throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-archive-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try await body(folder)
    }

    static func dayFiles(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("events-") }.sorted()
    }

    static func lines(_ path: String) throws -> [String] {
        try NDJSONReader.lines(ofFile: path).map { String(buffer: $0) }
    }

    static func ids(inFile path: String) throws -> [String] {
        try lines(path).map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try #require(object?["id"] as? String)
        }
    }

    static func ids(_ client: PostgresClient, day: String) async throws -> [String] {
        let rows = try await client.query(
            "SELECT id FROM events WHERE (occurred_at AT TIME ZONE 'UTC')::date = \(day)::date ORDER BY seq", logger: TestServer.quietLogger)
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// `sha256sum -c SHA256SUMS` run in the folder, as an operator would.
    static func sha256sumCheck(_ folder: String) async throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sha256sum-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try ChildProcess.spawn(["/bin/sh", "-c", "cd '\(folder)' && sha256sum -c SHA256SUMS"], outputPath: log)
        let status = try await child.exitStatus()
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    static func manifest(_ folder: String) throws -> ArchiveManifest {
        let path = folder + "/" + ArchiveManifest.fileName
        return try ArchiveManifest.decode(try #require(FileManager.default.contents(atPath: path)), path: path)
    }

    /// The inode and bytes of each file: a rewrite renames a new file into place, so its inode changes.
    static func snapshot(_ folder: String) throws -> [String: (inode: Int, data: Data)] {
        var files: [String: (inode: Int, data: Data)] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where !name.hasPrefix(".") {
            let path = folder + "/" + name
            let inode = try #require((try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.intValue)
            files[name] = (inode, try #require(FileManager.default.contents(atPath: path)))
        }
        return files
    }

    @Test func writesOneChecksummedFilePerDayBeforeTheCutoffInSeqOrder() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            let events = Self.events()
            try await Self.write(events, client)
            try await Self.withFolder { folder in
                let run = try await Self.archive(url, folder)
                #expect(run.status == 0, "\(run.output)")
                #expect(try Self.dayFiles(folder) == Self.archivedDays.map { "events-\($0).ndjson.gz" })
                #expect(!(try FileManager.default.contentsOfDirectory(atPath: folder)).contains { $0.hasPrefix(".partial-") })

                let check = try await Self.sha256sumCheck(folder)
                #expect(check.status == 0, "\(check.output)")
                for day in Self.archivedDays { #expect(check.output.contains("events-\(day).ndjson.gz: OK"), "\(check.output)") }

                let manifest = try Self.manifest(folder)
                #expect(manifest.before == Self.cutoff)
                #expect(manifest.files.map(\.day) == Self.archivedDays)
                let sums = ChecksumList.parse(try String(contentsOfFile: folder + "/SHA256SUMS", encoding: .utf8))
                var archived: Set<String> = []
                let byID = Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0) })
                for entry in manifest.files {
                    let path = folder + "/" + entry.file
                    let inFile = try Self.ids(inFile: path)
                    let inDatabase = try await Self.ids(client, day: entry.day)
                    #expect(!inFile.isEmpty)
                    #expect(inFile == inDatabase, "\(entry.file) must hold the day's events in seq order")
                    #expect(entry.events == inFile.count)
                    #expect(entry.bytes == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue)
                    #expect(sums.lines.contains(ChecksumList.Line(sha256: entry.sha256, file: entry.file)))
                    let seqs = try await client.query(
                        "SELECT min(seq), max(seq) FROM events WHERE (occurred_at AT TIME ZONE 'UTC')::date = \(entry.day)::date",
                        logger: TestServer.quietLogger)
                    for try await (minSeq, maxSeq) in seqs.decode((Int64, Int64).self) {
                        #expect(entry.minSeq == minSeq && entry.maxSeq == maxSeq)
                    }
                    // Each line is exactly what the wire encoder makes of the event posted.
                    for line in try Self.lines(path) {
                        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                        let id = try #require(object?["id"] as? String)
                        let original = try #require(byID[id])
                        #expect(line + "\n" == String(decoding: try Event.ndjson([original]), as: UTF8.self))
                    }
                    archived.formUnion(inFile)
                }
                let beforeCutoff = Set(events.filter { $0.occurredAt < (try! Timestamp(rfc3339: "2026-11-20T00:00:00Z")) }.map(\.id))
                #expect(archived == beforeCutoff)
                #expect(archived.contains("edge-before") && !archived.contains("edge-at"))
                #expect(sums.lines.count == 3 && sums.malformed.isEmpty)
            }
        }
    }

    @Test func aRerunIsUpToDateAndALateEventRewritesOnlyItsDay() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            try await Self.write(Self.events(), client)
            try await Self.withFolder { folder in
                #expect(try await Self.archive(url, folder).status == 0)
                let first = try Self.snapshot(folder)

                let again = try await Self.archive(url, folder)
                #expect(again.status == 0, "\(again.output)")
                #expect(again.output.contains("up to date"), "\(again.output)")
                let second = try Self.snapshot(folder)
                #expect(second.keys.sorted() == first.keys.sorted())
                for (name, file) in first { #expect(second[name]?.inode == file.inode && second[name]?.data == file.data, "\(name) was rewritten") }

                // A late event for an archived day, and one after the cutoff that must change nothing.
                let late = Sample.sale("late-1", at: try Timestamp(rfc3339: "2026-11-18T12:00:00Z"))
                let after = Sample.sale("after-1", at: try Timestamp(rfc3339: "2026-11-21T08:00:00Z"))
                _ = try await RawLogWriter(client: client).append([late, after], logger: TestServer.quietLogger)

                let rerun = try await Self.archive(url, folder)
                #expect(rerun.status == 0, "\(rerun.output)")
                #expect(rerun.output.contains("2026-11-18:") && rerun.output.contains("1 late event"), "\(rerun.output)")
                #expect(!rerun.output.contains("2026-11-17:") && !rerun.output.contains("2026-11-19:"), "\(rerun.output)")
                let third = try Self.snapshot(folder)
                for name in ["events-2026-11-17.ndjson.gz", "events-2026-11-19.ndjson.gz"] {
                    #expect(third[name]?.inode == first[name]?.inode && third[name]?.data == first[name]?.data, "\(name) was rewritten")
                }
                #expect(third["events-2026-11-18.ndjson.gz"]?.inode != first["events-2026-11-18.ndjson.gz"]?.inode)
                #expect(third["SHA256SUMS"]?.data != first["SHA256SUMS"]?.data)
                let ids = try Self.ids(inFile: folder + "/events-2026-11-18.ndjson.gz")
                #expect(ids.last == "late-1")
                #expect(ids == (try await Self.ids(client, day: "2026-11-18")))
                #expect(try Self.manifest(folder).files.first { $0.day == "2026-11-18" }?.events == ids.count)
                #expect(try Self.dayFiles(folder).count == 3)
                let check = try await Self.sha256sumCheck(folder)
                #expect(check.status == 0, "\(check.output)")
            }
        }
    }

    @Test func verifyNamesACorruptedFileAndAMissingFileIsRewritten() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            try await Self.write(Self.events(), client)
            try await Self.withFolder { folder in
                #expect(try await Self.archive(url, folder).status == 0)
                let intact = try await TidemarkCommand.run(["archive", "verify", folder])
                #expect(intact.status == 0, "\(intact.output)")
                #expect(intact.output.contains("verified: 3 files"), "\(intact.output)")

                // Flip one byte in the middle: same size, other contents.
                let damaged = folder + "/events-2026-11-19.ndjson.gz"
                var bytes = try #require(FileManager.default.contents(atPath: damaged))
                bytes[bytes.count / 2] ^= 0x40
                try bytes.write(to: URL(fileURLWithPath: damaged))

                let verify = try await TidemarkCommand.run(["archive", "verify", folder])
                #expect(verify.status == 1, "\(verify.output)")
                #expect(verify.output.contains("events-2026-11-19.ndjson.gz: FAILED"), "\(verify.output)")
                #expect(verify.output.contains("FAILED \(folder)/events-2026-11-19.ndjson.gz: checksum mismatch"), "\(verify.output)")
                #expect(verify.output.contains("events-2026-11-18.ndjson.gz: OK"), "\(verify.output)")
                #expect(!verify.output.contains("events-2026-11-18.ndjson.gz: FAILED"), "\(verify.output)")
                #expect(try await Self.sha256sumCheck(folder).status != 0)

                // The operator removes the bad file; the next run writes it again from the raw log.
                try FileManager.default.removeItem(atPath: damaged)
                let rerun = try await Self.archive(url, folder)
                #expect(rerun.status == 0, "\(rerun.output)")
                #expect(rerun.output.contains("2026-11-19:") && rerun.output.contains("its file is missing"), "\(rerun.output)")
                #expect(try await TidemarkCommand.run(["archive", "verify", folder]).status == 0)
                #expect(try Self.ids(inFile: damaged) == (try await Self.ids(client, day: "2026-11-19")))
            }
        }
    }

    @Test func tidemarkLoadRestoresTheArchiveIntoAnEmptyDatabase() async throws {
        let rowText = """
            SELECT (id, type, tidemark_micros(occurred_at), store_id, product_id, quantity, unit_price_cents, price_cents,
                stock_kind, category, customer_id, order_id, channel, currency)::text
            FROM events WHERE occurred_at < '2026-11-20T00:00:00Z' ORDER BY id
            """
        try await TestDatabase.withFreshDatabase { url, client in
            try await Self.write(Self.events(), client)
            let original = try await Self.texts(client, rowText)
            try await Self.withFolder { folder in
                #expect(try await Self.archive(url, folder).status == 0)
                let files = try Self.dayFiles(folder).map { folder + "/" + $0 }
                try await TestDatabase.withFreshDatabase { emptyURL, restored in
                    let server = try await ServerProcess.start(databaseURL: emptyURL.urlString)
                    defer { server.killNow() }
                    let load = try await TidemarkCommand.run(["load", "--url", server.baseURL, "--quiet"] + files)
                    #expect(load.status == 0, "\(load.output)")
                    #expect(load.output.contains("accepted \(original.count), duplicates 0"), "\(load.output)")
                    #expect(try await restored.scalar("SELECT count(*) FROM events") == original.count)
                    #expect(try await Self.texts(restored, rowText) == original)

                    // Ids are the idempotency keys: a second restore stores nothing twice.
                    let again = try await TidemarkCommand.run(["load", "--url", server.baseURL, "--quiet"] + files)
                    #expect(again.output.contains("accepted 0, duplicates \(original.count)"), "\(again.output)")
                    #expect(try await restored.scalar("SELECT count(*) FROM events") == original.count)
                }
            }
            #expect(original.count == 91)
        }
    }

    static func texts(_ client: PostgresClient, _ sql: String) async throws -> [String] {
        var texts: [String] = []
        for try await text in try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestServer.quietLogger).decode(String.self) {
            texts.append(text)
        }
        return texts
    }

    @Test func aRelativeCutoffCountsWholeDaysBeforeToday() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            let now = Timestamp.now()
            let old = Sample.sale("three-days-ago", at: now.adding(seconds: -3 * 86_400))
            _ = try await RawLogWriter(client: client).append([old, Sample.sale("today", at: now)], logger: TestServer.quietLogger)
            try await Self.withFolder { folder in
                let run = try await Self.archive(url, folder, before: "1d")
                #expect(run.status == 0, "\(run.output)")
                let day = CalendarDay(containing: old.occurredAt)
                #expect(try Self.dayFiles(folder) == ["events-\(day).ndjson.gz"])
                #expect(try Self.ids(inFile: folder + "/events-\(day).ndjson.gz") == ["three-days-ago"])
                #expect(try Self.manifest(folder).before == CalendarDay(containing: .now()).adding(days: -1).text)
            }
        }
    }

    @Test func badDatesUnusableFoldersAndASecondRunAreExplained() async throws {
        try await TestDatabase.withFreshDatabase { url, _ in
            try await Self.withFolder { folder in
                let noSuchDay = try await Self.archive(url, folder, before: "2026-02-30")
                #expect(noSuchDay.status == 64, "\(noSuchDay.output)")
                #expect(noSuchDay.output.contains("'2026-02-30' (there is no such day in the calendar)"), "\(noSuchDay.output)")
                let word = try await Self.archive(url, folder, before: "yesterday")
                #expect(word.status == 64 && word.output.contains("such as 30d; got 'yesterday'"), "\(word.output)")
                #expect(!FileManager.default.fileExists(atPath: folder), "a refused date must not create the folder")

                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let file = folder + "/plain-file"
                try Data("x".utf8).write(to: URL(fileURLWithPath: file))
                let underAFile = try await Self.archive(url, file + "/archive")
                #expect(underAFile.status == 1, "\(underAFile.output)")
                #expect(underAFile.output.contains("cannot create the archive folder \(file)/archive"), "\(underAFile.output)")
                let isAFile = try await Self.archive(url, file)
                #expect(isAFile.status == 1 && isAFile.output.contains("\(file): it exists and is not a folder"), "\(isAFile.output)")

                // Another run holds the folder's lock. O_CLOEXEC: a process another test spawns
                // meanwhile must not inherit the lock and hold it after this test lets go.
                let lock = open(folder + "/.archive.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
                let second = try await Self.archive(url, folder)
                close(lock)
                #expect(second.status == 75, "\(second.output)")
                #expect(second.output.contains("another tidemark archive is writing to \(folder)"), "\(second.output)")
                let released = try await Self.archive(url, folder)
                #expect(released.status == 0, "\(released.output)")
            }
        }
    }

    @Test func cutoffsAndChecksumLinesParse() throws {
        let today = try #require(CalendarDay(text: "2026-03-01"))
        #expect(try CalendarDay.cutoff("2024-02-29", today: today).text == "2024-02-29")
        #expect(try CalendarDay.cutoff("30d", today: today).text == "2026-01-30")
        #expect(try CalendarDay.cutoff("0d", today: today) == today)
        for bad in ["2023-02-29", "0000-01-01", "2026-1-01", "-3d", "d", "2026-11-20T00:00:00Z"] {
            #expect(throws: ArchiveError.self, "\(bad)") { try CalendarDay.cutoff(bad, today: today) }
        }
        #expect(CalendarDay(containing: try Timestamp(rfc3339: "1969-12-31T23:59:59.999999Z")).text == "1969-12-31")
        let digest = String(repeating: "ab", count: 32)
        let parsed = ChecksumList.parse("\(digest)  events-2026-11-17.ndjson.gz\n\(digest) *b.gz\nnot a line\n")
        #expect(parsed.lines == [.init(sha256: digest, file: "events-2026-11-17.ndjson.gz"), .init(sha256: digest, file: "b.gz")])
        #expect(parsed.malformed == [3])
    }
}
