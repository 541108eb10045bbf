import Synchronization

/// One sequence across everything a run records (the user's actions, the bot's calls, FAL's requests and webhooks):
/// what happened at the same virtual instant is reported in the order it happened.
public enum EventOrder {
    private static let counter = Atomic<UInt64>(0)

    public static func next() -> UInt64 { counter.add(1, ordering: .relaxed).newValue }
}
