import AsyncHTTPClient
import NIOCore

/// Posts the development provider's logout tokens, one by one, before the browser is answered
/// (as Keycloak does), so that the gateway has ended the session by the time the browser returns.
/// A client that does not answer within 5 s is skipped.
enum BackchannelLogoutSender {
    static func deliver(_ notices: [(url: String, form: String)]) async {
        for notice in notices {
            var request = HTTPClientRequest(url: notice.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: notice.form))
            _ = try? await HTTPClient.shared.execute(request, timeout: .seconds(5))
        }
    }
}
