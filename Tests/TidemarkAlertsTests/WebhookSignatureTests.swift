import Foundation
import Testing
import TidemarkAlerts

@Suite struct WebhookSignatureTests {
    /// RFC 4231, test case 2.
    @Test func hmacSHA256OfTheBodyInHex() {
        let signature = WebhookSignature(secret: "Jefe")
        let body = Data("what do ya want for nothing?".utf8)
        let header = signature.header(for: body)
        #expect(header == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(signature.isValid(header: header, for: body))
        #expect(!signature.isValid(header: header, for: Data("what do ya want for nothing!".utf8)))
        #expect(!WebhookSignature(secret: "jefe").isValid(header: header, for: body))
        #expect(!signature.isValid(header: "sha256=zz", for: body))
    }

    @Test func backoffDoublesUpToItsCap() {
        var configuration = WebhookConfiguration()
        configuration.initialBackoff = .milliseconds(100)
        configuration.maxBackoff = .milliseconds(500)
        #expect((1...6).map { configuration.backoff(afterAttempt: $0) } == [100, 200, 400, 500, 500, 500].map { .milliseconds($0) })
        #expect(configuration.lease > configuration.timeout)
    }
}
