import Foundation
import Hummingbird
import NIOHTTP1
import Testing
import TidemarkRawLog
import TidemarkServer
import TidemarkTestSupport
import Yams

/// `docs/openapi.yaml` against the server: the same routes, a valid 3.1 document, the embedded
/// copy identical to the file, and the file served as is.
@Suite struct OpenAPITests {
    static var documentPath: String {
        "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/") + "/docs/openapi.yaml"
    }

    static func documentText() throws -> String {
        try String(contentsOfFile: documentPath, encoding: .utf8)
    }

    static func document() throws -> Node {
        try #require(try Yams.compose(yaml: try documentText()), "docs/openapi.yaml is empty")
    }

    /// `GET /v1/views/{view}` style names of every operation in the document.
    static func documentedOperations(_ document: Node) throws -> Set<String> {
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var operations: Set<String> = []
        for (path, item) in try #require(document.child("paths")?.mapping) {
            for (method, _) in try #require(item.mapping) where methods.contains(method.string ?? "") {
                operations.insert("\(method.string!.uppercased()) \(path.string!)")
            }
        }
        return operations
    }

    @Test func documentListsExactlyTheRoutersRoutes() throws {
        // The parts are built, not run: nothing connects to this address.
        let database = DatabaseURL(host: "127.0.0.1", port: 9, username: "nobody", password: nil, database: "none")
        let parts = buildServerParts(
            configuration: ServerConfiguration(database: database, pipelines: try ShippedPipelines.catalog()), logger: TestServer.quietLogger)
        let routes = Set(parts.router.routes.map { "\($0)" })  // "GET /v1/views/{view}"
        let documented = try Self.documentedOperations(try Self.document())
        #expect(routes.contains("GET /v1/views/{view}"), "the router names captures as OpenAPI does: \(routes.sorted())")
        #expect(routes.subtracting(documented).isEmpty, "routes missing from docs/openapi.yaml: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but not routed: \(documented.subtracting(routes).sorted())")
    }

    @Test func documentIsOpenAPI31AndEveryReferenceResolves() throws {
        let document = try Self.document()
        let version = try #require(document.child("openapi")?.string)
        #expect(version.hasPrefix("3.1."), "openapi: \(version)")
        #expect(document.child("info")?.child("title")?.string == "Tidemark")
        #expect(document.child("info")?.child("version")?.string != nil)

        var references: [String] = []
        document.collectReferences(into: &references)
        #expect(references.count > 20, "the document refers to its components")
        for reference in Set(references) {
            #expect(reference.hasPrefix("#/"), "only local references: \(reference)")
            #expect(document.resolve(pointer: String(reference.dropFirst())) != nil, "\(reference) does not resolve")
        }
    }

    @Test func embeddedCopyIsTheFile() throws {
        #expect(
            Array(OpenAPIDocument.yaml.utf8) == Array(try Self.documentText().utf8),
            "Sources/TidemarkServer/OpenAPIDocument.swift is stale: run scripts/openapi-embed.sh")
    }

    @Test func servedAsIsWithoutAKey() async throws {
        let file = Array(try Self.documentText().utf8)
        try await TestServer.run(configure: { $0.requireAPIKeys = true }) { server in
            let answer = try await server.http.get("/openapi.yaml")
            #expect(answer.status == 200)
            #expect(answer.headers["Content-Type"].first == "application/yaml")
            #expect(Array(answer.body.readableBytesView) == file)
        }
    }

    /// The operations with `security: []` are exactly those that answer without a key.
    @Test func securityMatchesTheDocument() async throws {
        let document = try Self.document()
        var isOpen: [String: Bool] = [:]
        for operation in try Self.documentedOperations(document) {
            let parts = operation.split(separator: " ")
            let item = try #require(document.child("paths")?.child(String(parts[1]))?.child(parts[0].lowercased()))
            isOpen[operation] = item.child("security")?.sequence?.isEmpty == true
        }
        try await TestServer.run(configure: { $0.requireAPIKeys = true }) { [isOpen] server in
            for (operation, isOpen) in isOpen.sorted(by: { $0.key < $1.key }) {
                let parts = operation.split(separator: " ")
                let (method, path) = (String(parts[0]), String(parts[1]))
                let url = path.replacingOccurrences(of: "{view}", with: "sales_by_store_day")
                let answer =
                    switch method {
                    case "POST": try await server.http.post(url, text: "{}")
                    case "PUT": try await server.http.put(url, text: "[]")
                    default: try await server.http.get(url)
                    }
                if isOpen {
                    #expect(answer.status != 401, "\(operation) is documented as open")
                } else {
                    #expect(answer.status == 401, "\(operation) is documented as needing a key")
                }
            }
        }
    }
}

extension Node {
    /// The value under `key` in a mapping, comparing keys as text (`"200"` and `200` alike).
    func child(_ key: String) -> Node? {
        mapping?.first { $0.key.string == key }?.value
    }

    func collectReferences(into references: inout [String]) {
        if let mapping {
            for (key, value) in mapping {
                if key.string == "$ref", let target = value.string { references.append(target) }
                value.collectReferences(into: &references)
            }
        } else if let sequence {
            for element in sequence { element.collectReferences(into: &references) }
        }
    }

    /// RFC 6901: `/components/schemas/Error`, with `~1` for `/` and `~0` for `~`.
    func resolve(pointer: String) -> Node? {
        var node: Node? = self
        for token in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let sequence = node?.sequence {
                node = Int(key).flatMap { sequence.indices.contains($0) ? sequence[$0] : nil }
            } else {
                node = node?.child(key)
            }
        }
        return node
    }
}
