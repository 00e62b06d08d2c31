import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Real HTTP requests to a server under test.
public struct HTTPTestClient: Sendable {
    public let baseURL: String
    private let client: HTTPClient

    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer

        public var text: String { String(buffer: body) }

        /// The body parsed as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
        }

        /// `error.details` of an error answer.
        public var errorDetails: [[String: Any]] {
            ((json["error"] as? [String: Any])?["details"] as? [[String: Any]]) ?? []
        }

        public var errorCode: String? {
            (json["error"] as? [String: Any])?["code"] as? String
        }
    }

    public init(baseURL: String, client: HTTPClient = .shared) {
        self.baseURL = baseURL
        self.client = client
    }

    public func post(
        _ path: String, body: ByteBuffer, contentType: String? = "application/json", headers: [(String, String)] = [],
        timeout: TimeAmount = .seconds(60)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        return try await send(request, timeout: timeout)
    }

    public func post(
        _ path: String, text: String, contentType: String? = "application/json", timeout: TimeAmount = .seconds(60)
    ) async throws -> Answer {
        try await post(path, body: ByteBuffer(string: text), contentType: contentType, timeout: timeout)
    }

    public func put(
        _ path: String, text: String, contentType: String? = "application/json", headers: [(String, String)] = []
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .PUT
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: text))
        return try await send(request)
    }

    public func get(_ path: String, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await send(request)
    }

    public func head(_ path: String) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .HEAD
        return try await send(request)
    }

    public func delete(_ path: String, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .DELETE
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await send(request)
    }

    /// AsyncHTTPClient keeps retrying a refused connection until the timeout, so tests that
    /// expect the server to be gone pass a short one.
    private func send(_ request: HTTPClientRequest, timeout: TimeAmount = .seconds(60)) async throws -> Answer {
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: body)
    }
}
