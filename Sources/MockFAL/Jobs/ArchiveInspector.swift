#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SupportKit

/// What a training archive held.
struct ArchiveSummary: Sendable, Hashable {
    var imageCount: Int
    var bytes: Int
}

/// Limits for downloading a training archive.
public struct ArchiveFetchPolicy: Sendable {
    /// Hosts besides loopback that archives may be fetched from (staging). Everything else fails like an
    /// unreachable URL, without any traffic leaving the machine.
    public var allowedHosts: Set<String>
    public var maxBytes: Int
    public var timeout: Duration
    public var maxRedirects: Int

    public init(allowedHosts: Set<String> = [], maxBytes: Int = 512 * 1024 * 1024, timeout: Duration = .seconds(30), maxRedirects: Int = 5) {
        self.allowedHosts = allowedHosts
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.maxRedirects = maxRedirects
    }

    func allows(host: String) -> Bool {
        let host = host.lowercased().trimming { $0 == "[" || $0 == "]" }
        if host == "localhost" || host == "::1" || host.hasPrefix("127.") { return true }
        return allowedHosts.contains(host)
    }
}

/// Downloads a training archive and checks it the way FAL's trainers do.
struct ArchiveInspector: Sendable {
    let transport: any HTTPTransport
    let policy: ArchiveFetchPolicy

    /// Fetches and inspects the archive named by `rule.field`; a failure is FAL's error for that job.
    func inspect(url: String, rule: ArchiveRule) async -> Result<ArchiveSummary, JobFailure> {
        let data: Data
        switch await download(url) {
        case .success(let downloaded): data = downloaded
        case .failure(let reason):
            return .failure(
                .unprocessable(
                    field: rule.field, msg: "Failed to download archive: \(reason)", type: "file_download_error",
                    input: .string(url), ctx: ["reason": .string(reason.description)]))
        }
        return Self.check(data, url: url, rule: rule)
    }

    /// Follows redirects itself so that every hop is checked against the allowed hosts.
    private func download(_ url: String) async -> Result<Data, DownloadFailure> {
        var current = url
        for _ in 0...policy.maxRedirects {
            guard let components = URLComponents(string: current), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
            else { return .failure(DownloadFailure("not an http(s) URL: \(current)")) }
            guard policy.allows(host: host) else {
                return .failure(DownloadFailure("could not connect to \(host) (host not reachable from MockFAL)"))
            }
            let response: IncomingResponse
            do {
                response = try await transport.send(
                    OutgoingRequest(url: current, timeout: policy.timeout, maxResponseBytes: policy.maxBytes))
            } catch HTTPTransportError.responseTooLarge(let limit) {
                return .failure(DownloadFailure("archive larger than \(limit) bytes"))
            } catch {
                return .failure(DownloadFailure(String(describing: error)))
            }
            if (300..<400).contains(response.status), let location = response.header("Location") {
                guard let next = URL(string: location, relativeTo: URL(string: current))?.absoluteString else {
                    return .failure(DownloadFailure("bad redirect location \(location)"))
                }
                current = next
                continue
            }
            guard (200..<300).contains(response.status) else {
                return .failure(DownloadFailure("HTTP \(response.status)"))
            }
            return .success(response.body)
        }
        return .failure(DownloadFailure("more than \(policy.maxRedirects) redirects"))
    }

    /// Opens the zip and counts images of allowed formats whose header can be read.
    static func check(_ data: Data, url: String, rule: ArchiveRule) -> Result<ArchiveSummary, JobFailure> {
        func failure(_ msg: String, _ type: String, _ ctx: [String: JSONValue]? = nil) -> Result<ArchiveSummary, JobFailure> {
            .failure(.unprocessable(field: rule.field, msg: msg, type: type, input: .string(url), ctx: ctx))
        }
        let archive: ZipArchive
        do throws(ZipError) {
            guard data.starts(with: [0x50, 0x4B]) else { throw .malformed("does not start with PK") }
            archive = try ZipArchive(data)
        } catch {
            return failure("The training data is not a valid zip archive", "invalid_archive", ["reason": .string(error.reason)])
        }
        var images = 0
        var unreadable: [(path: String, reason: String)] = []
        for entry in archive.entries where entry.kind == .file {
            let name = entry.path.split(separator: "/").last.map(String.init) ?? entry.path
            guard !entry.path.hasPrefix("__MACOSX/"), !name.hasPrefix(".") else { continue }
            guard let dot = name.lastIndex(of: "."), ["jpg", "jpeg", "png", "webp"].contains(name[name.index(after: dot)...].lowercased())
            else { continue }
            if let problem = problem(with: entry, in: archive, formats: rule.formats) {
                unreadable.append((entry.path, problem))
            } else {
                images += 1
            }
        }
        if !unreadable.isEmpty {
            return failure(
                "Could not load image(s) from the archive: \(unreadable.prefix(5).map(\.path).joined(separator: ", "))",
                "image_load_error",
                [
                    "files": .array(unreadable.map { .string($0.path) }),
                    "reasons": .object(Dictionary(unreadable.map { ($0.path, .string($0.reason)) }, uniquingKeysWith: { first, _ in first })),
                ])
        }
        if images < rule.minImages {
            return failure(
                "The archive has \(images) images; at least \(rule.minImages) are required",
                "archive_file_count_below_minimum", ["min_count": .int(rule.minImages), "provided_count": .int(images)])
        }
        if let maxImages = rule.maxImages, images > maxImages {
            return failure(
                "The archive has \(images) images; at most \(maxImages) are allowed",
                "archive_file_count_exceeds_maximum", ["max_count": .int(maxImages), "provided_count": .int(images)])
        }
        return .success(ArchiveSummary(imageCount: images, bytes: data.count))
    }
}

/// Why an image entry would not load in a trainer, or nil when it would.
private func problem(with entry: ZipArchive.Entry, in archive: ZipArchive, formats: [String]) -> String? {
    let head: Data
    do {
        head = try archive.prefix(of: entry, limit: 256 * 1024)
    } catch {
        return error.reason
    }
    guard let info = ImageProbe.probe(head) else { return "not a readable JPEG, PNG or WebP image" }
    guard formats.contains(info.format.rawValue) else { return "\(info.format.rawValue) is not accepted (\(formats.joined(separator: ", ")))" }
    return nil
}

struct DownloadFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
