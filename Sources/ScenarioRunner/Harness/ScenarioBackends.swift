import AishaSystem
import Foundation

/// Where scenarios keep AishaSystem's state: the embedded defaults (a SQLite file and a folder per scenario), or
/// shared servers — a PostgreSQL database (a schema per scenario) and an S3-compatible store (a bucket per scenario).
public struct ScenarioBackends: Sendable, Equatable {
    /// `postgres://user:password@host:port/database`; nil for SQLite.
    public var postgresURL: String?
    /// `s3://PREFIX?endpoint=URL&region=R` (buckets are named PREFIX-<scenario id>); nil for local files.
    /// Credentials come from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    public var s3URL: String?
    /// S3 credentials (the CLI takes them from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
    public var s3AccessKey: String?
    public var s3SecretKey: String?
    /// What these backends do not do (moto: `expiringArchiveURLs`); scenarios that need it are skipped.
    public var lacks: Set<ScenarioNeed> = []

    public init(postgresURL: String? = nil, s3URL: String? = nil, s3AccessKey: String? = nil, s3SecretKey: String? = nil) throws {
        if let postgresURL, !(postgresURL.hasPrefix("postgres://") || postgresURL.hasPrefix("postgresql://")) || postgresURL.contains("schema=") {
            throw StepFailure(message: "--database-url must be postgres://USER:PASSWORD@HOST:PORT/DATABASE (each scenario gets its own schema)")
        }
        if let s3URL {
            guard let parts = URLComponents(string: s3URL), parts.scheme == "s3", let prefix = parts.host, prefix.count <= 40,
                prefix.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" })
            else { throw StepFailure(message: "--storage-url must be s3://PREFIX?endpoint=URL with a lower-case bucket prefix of at most 40 characters") }
        }
        self.postgresURL = postgresURL
        self.s3URL = s3URL
        self.s3AccessKey = s3AccessKey
        self.s3SecretKey = s3SecretKey
    }

    public static let embedded = try! ScenarioBackends()

    /// What the console report names.
    public var description: String {
        [postgresURL == nil ? "SQLite" : "PostgreSQL", s3URL == nil ? "local files" : "S3"].joined(separator: " + ")
    }

    func databaseURL(folder: URL, id: String) -> String {
        guard let postgresURL else {
            let file = folder.appendingPathComponent("aisha.sqlite")
            SQLiteTemplate.copy(to: file)
            return "sqlite://\(file.path)"
        }
        return postgresURL + (postgresURL.contains("?") ? "&" : "?") + "schema=scenario_\(id)"
    }

    func storageURL(folder: URL, id: String) -> String {
        guard let s3URL, var parts = URLComponents(string: s3URL), let prefix = parts.host else {
            return "file://\(folder.appendingPathComponent("storage").path)"
        }
        parts.host = "\(prefix)-\(id)"
        return parts.string ?? s3URL
    }

    /// Creates the scenario's bucket (S3) before AishaSystem starts.
    func prepare(_ services: AishaServices) async throws {
        if let s3 = services.objects as? S3ObjectStore { try await s3.createBucketIfMissing() }
    }

    /// Drops the scenario's schema (PostgreSQL) and closes the store.
    func cleanUp(_ services: AishaServices) async {
        if let postgres = services.store as? PostgresAvatarStore, let schema = URLComponents(string: services.configuration.databaseURL)?
            .queryItems?.first(where: { $0.name == "schema" })?.value
        {
            try? await postgres.dropSchema(schema)
        }
        await services.store.close()
    }
}

/// An empty SQLite database with every migration applied, kept in the temporary folder under the names of its
/// migrations: each scenario starts from a copy (migrating a new file was half of an environment's start-up). Without
/// it (or on a copy failure) AishaSystem migrates the new file itself, as it does in production.
enum SQLiteTemplate {
    private static let file: URL? = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the migration names: a new migration, a new template
        for byte in SQLiteAvatarStore.migrationNames.joined(separator: "\n").utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let temporary = FileManager.default.temporaryDirectory
        let file = temporary.appendingPathComponent("aisha-sqlite-template-\(String(hash, radix: 16)).sqlite")
        if FileManager.default.fileExists(atPath: file.path) { return file }
        let draft = temporary.appendingPathComponent("aisha-sqlite-template-\(UUID().uuidString).sqlite")
        do {
            // Closing the last connection checkpoints the WAL into the file, so the file alone is the database.
            _ = try SQLiteAvatarStore(path: draft.path)
            if rename(draft.path, file.path) != 0 { try? FileManager.default.removeItem(at: draft) }
            return FileManager.default.fileExists(atPath: file.path) ? file : nil
        } catch {
            return nil
        }
    }()

    static func copy(to destination: URL) {
        guard let file, !FileManager.default.fileExists(atPath: destination.path) else { return }
        try? FileManager.default.copyItem(at: file, to: destination)
    }
}
