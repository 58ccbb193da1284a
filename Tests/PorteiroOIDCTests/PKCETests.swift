import PorteiroOIDC
import Testing

@Suite struct PKCETests {
    /// RFC 7636 Appendix B.
    @Test func matchesTheRFCTestVector() {
        let pkce = PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        #expect(pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(PKCE.method == "S256")
    }

    @Test func randomVerifiersAreLongAndUnique() {
        let verifiers = Set((0..<100).map { _ in PKCE.random().verifier })
        #expect(verifiers.count == 100)
        #expect(verifiers.allSatisfy { $0.count == 43 && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } })
        #expect(randomToken(bytes: 16).count == 22, "128 bits")
    }
}
