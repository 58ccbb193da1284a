import NIOCore
import NIOHTTP1
import PorteiroConfig
@testable import PorteiroProxy
import PorteiroRouting

/// Requests, exchanges and responses for the exchange state machine's tests. Connections are
/// plain numbers.
enum ExchangeFixture {
    typealias Machine = ExchangeStateMachine<Int>

    static let route: Route = {
        var config = GatewayConfig(routes: [RouteConfig(path: "/", upstream: "http://app:8080", auth: .none)])
        config.routes[0].timeout = .seconds(30)
        let table = try! RouteTable(config: config)
        guard case .route(let route) = table.lookup(host: "gw", target: try! RequestTarget.parse("/").get()) else {
            fatalError("the test route must match /")
        }
        return route
    }()

    static func request(_ method: HTTPMethod = .GET, headers: HTTPHeaders = ["Host": "gw"], version: HTTPVersion = .http1_1)
        -> GatewayRequest
    {
        let head = HTTPRequestHead(version: version, method: method, uri: "/", headers: headers)
        return GatewayRequest(head: head, requestID: "r1", log: AccessLogEntry(method: method, start: .uptimeNanoseconds(0)))
    }

    static func exchange(_ request: GatewayRequest = request(), upgrade: WebSocketUpgrade? = nil) -> ProxyExchange {
        ProxyExchange(request: request, route: route, upstreamHead: request.head, upgrade: upgrade)
    }

    static func response(_ status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:]) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }

    /// A machine proxying a whole GET on connection 7: leased, request sent, response awaited.
    static func proxyingGET() -> Machine {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        _ = machine.proxy(exchange(), resolveFirst: false)
        _ = machine.requestEndReceived()
        _ = machine.leased(7, isWritable: true)
        return machine
    }
}
