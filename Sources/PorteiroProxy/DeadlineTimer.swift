import NIOCore

/// A deadline that moves with every request but rarely passes: a connection's idle timeout and an
/// exchange's response timeout. Moving it later schedules nothing — the task already scheduled for
/// the earlier time, when it runs, asks to be scheduled again for the new deadline — so a busy
/// keep-alive connection schedules and cancels no task per request. Pure: the owner schedules
/// what `set(_:)` and `taskRan(scheduledFor:now:)` ask for, with the time it passes in.
struct DeadlineTimer {
    enum Outcome: Equatable {
        /// The deadline has passed: act on the timeout.
        case expired
        /// The deadline moved later: schedule a task for it.
        case reschedule(NIODeadline)
        /// The deadline was cleared, or this task was replaced by an earlier one.
        case nothing
    }

    private(set) var deadline: NIODeadline?
    /// When the owner's one scheduled task runs; nil when none is scheduled.
    private(set) var scheduledFor: NIODeadline?

    /// Sets or clears the deadline. Returns a time to schedule a task for when no task would run
    /// by then (the owner replaces the task it had, if any).
    mutating func set(_ deadline: NIODeadline?) -> NIODeadline? {
        self.deadline = deadline
        guard let deadline else { return nil }
        if let scheduledFor, scheduledFor <= deadline { return nil }
        scheduledFor = deadline
        return deadline
    }

    /// The task scheduled for `when` ran at `now`.
    mutating func taskRan(scheduledFor when: NIODeadline, now: NIODeadline) -> Outcome {
        guard scheduledFor == when else { return .nothing }
        scheduledFor = nil
        guard let deadline else { return .nothing }
        if now >= deadline {
            self.deadline = nil
            return .expired
        }
        scheduledFor = deadline
        return .reschedule(deadline)
    }
}
