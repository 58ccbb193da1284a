import NIOCore
import NIOHTTP1

/// The one local endpoint with a request body: the IdP's back-channel logout posts a form with
/// the logout token. The body is collected up to `maxBytes` (the state machine's `.collecting`),
/// then the authenticator verifies and records the logout off the event loop.
struct LogoutForm {
    var request: GatewayRequest
    var auth: AuthRequest
    var authenticator: any GatewayAuthenticator
    var body = ByteBuffer()

    /// Logout tokens are a few KiB; anything far larger is not one.
    static let maxBytes = 64 * 1024

    static let tooLarge = LocalResponse(
        status: .payloadTooLarge, headers: ["Cache-Control": "no-store", "Content-Type": "application/json"],
        body: #"{"error":"invalid_request","error_description":"body too large"}"#)
}

extension GatewayHandler {
    /// Verifies the whole form off the loop (the machine already waits for the answer).
    func submitLogoutForm(_ form: LogoutForm) {
        let (authenticator, body, auth) = (form.authenticator, String(buffer: form.body), form.auth)
        answerAfter({ await authenticator.backchannelLogout(form: body, request: auth) }, request: form.request) { $0 }
    }
}
