import Foundation

/// The command that runs one scenario again, quoted for a POSIX shell whatever its file and name hold.
public enum RerunCommand {
    public static func line(_ result: ScenarioResult, prefix: String = "swift run aisha-scenario run") -> String {
        "\(prefix) \(quote(result.file)) --filter \(quote(result.name)) --seed \(result.seed)"
    }

    /// A word as the shell reads it: bare when only safe characters, else single-quoted (a `'` inside closes the
    /// quotes, adds an escaped quote and reopens them).
    public static func quote(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+-")
        if !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
