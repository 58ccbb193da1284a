import NIOCore
import NIOHTTP1

/// The one local endpoint with a request body: the IdP's back-channel logout posts a form with
/// the logout token. The body is collected up to `maxLogoutFormBytes`, then the authenticator
/// verifies and records the logout off the event loop.
struct LogoutForm {
    var head: HTTPRequestHead
    var request: AuthRequest
    var log: AccessLogEntry
    var authenticator: any GatewayAuthenticator
    var body = ByteBuffer()
}

extension GatewayHandler {
    static let backchannelLogoutPath = "/oauth2/backchannel_logout"
    /// Logout tokens are a few KiB; anything far larger is not one.
    static let maxLogoutFormBytes = 64 * 1024

    func collected(_ form: LogoutForm, context: ChannelHandlerContext) {
        guard form.body.readableBytes <= Self.maxLogoutFormBytes else {
            let response = LocalResponse(
                status: .payloadTooLarge, headers: ["Cache-Control": "no-store", "Content-Type": "application/json"],
                body: #"{"error":"invalid_request","error_description":"body too large"}"#)
            return writeLocal(response, log: form.log, requestID: form.request.requestID, keepAlive: false, context: context)
        }
        state = .collecting(form)
    }

    func submitLogoutForm(_ form: LogoutForm) {
        let (authenticator, body, request) = (form.authenticator, String(buffer: form.body), form.request)
        answerAfter({ await authenticator.backchannelLogout(form: body, request: request) }, head: form.head, log: form.log,
                    requestID: request.requestID) { $0 }
    }
}
