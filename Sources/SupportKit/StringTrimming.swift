extension StringProtocol {
    /// The text without the leading and trailing characters for which `isTrimmed` holds (what Foundation's
    /// `trimmingCharacters(in:)` does, for modules that only import FoundationEssentials).
    public func trimming(while isTrimmed: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !isTrimmed($0) }), let last = lastIndex(where: { !isTrimmed($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
