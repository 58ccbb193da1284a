/// Thrown by `withTimeout` when the operation took longer.
public struct DatabaseTimeout: Error, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "no answer from the database within \(limit)" }
}

/// Runs `operation`, cancelling it (and throwing `DatabaseTimeout`) after `limit`.
@discardableResult
func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DatabaseTimeout(limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
