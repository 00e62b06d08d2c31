import Crypto
import Foundation

/// `X-Tidemark-Signature: sha256=<hex>`: the HMAC-SHA256 of the exact body bytes, keyed with
/// the shared secret, so a receiver can tell the notification came from this deployment and
/// was not altered. The body holds `sent_at` (also in `X-Tidemark-Timestamp`), so the
/// signature covers the time too and a receiver can refuse old replays.
public struct WebhookSignature: Sendable {
    public static let headerName = "X-Tidemark-Signature"
    public static let timestampHeaderName = "X-Tidemark-Timestamp"

    private let key: SymmetricKey

    public init(secret: String) {
        key = SymmetricKey(data: Data(secret.utf8))
    }

    /// The header's value for this body.
    public func header(for body: some DataProtocol) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: key)
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Constant-time check of a header against a body, as a receiver would do it.
    public func isValid(header: String, for body: some DataProtocol) -> Bool {
        guard header.hasPrefix("sha256="), let expected = Self.bytes(hex: header.dropFirst("sha256=".count)) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(expected, authenticating: body, using: key)
    }

    private static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
