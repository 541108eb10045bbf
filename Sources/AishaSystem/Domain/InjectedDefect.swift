/// Bugs this system had (or nearly had), put back on request so tests can show that the harness's `explore` finds
/// each one. Tests only: no environment variable or command-line option sets them.
public enum InjectedDefect: String, Sendable, Hashable, CaseIterable {
    /// "Training started" sent as a direct message after the start, outside the transaction that stores the request
    /// id (the original's race: an outcome could overtake it).
    case startedOutsideTransaction = "started-outside-transaction"
    /// The notifier is not woken when an outcome is queued: it goes out only when the idle notifier next looks.
    case lostNotifierKick = "lost-notifier-kick"
    /// A duplicate or late webhook tells its outcome again.
    case duplicateWebhookTold = "duplicate-webhook-told"
    /// Telegram's flood wait for a chat is not kept: other sends to the chat go on during it.
    case floodWaitNotKept = "flood-wait-not-kept"
    /// A cancel FAL refuses as already completed still cancels and refunds: the paid result is thrown away.
    case cancelDropsCompleted = "cancel-drops-completed"
}
