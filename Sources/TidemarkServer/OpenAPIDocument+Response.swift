import Hummingbird

extension OpenAPIDocument {
    /// The `GET /openapi.yaml` answer. Open like `/healthz`: the document describes the API, not
    /// its data, and tools such as schemathesis read it before they have a key.
    static var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/yaml"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: yaml)))
    }
}
