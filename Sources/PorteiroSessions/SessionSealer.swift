import CompressNIO
import Crypto
import ExtrasBase64
import NIOCore

/// Seals values into cookie-safe text and opens them again: AES-256-GCM (swift-crypto) under keys
/// derived with HKDF-SHA256 from the configured secrets. A 4-byte key id in front lets every
/// configured secret open while the first one seals, so prepending a new secret rotates keys
/// without logging anyone out. Anything that does not open — tampered, truncated, sealed under a
/// retired secret, sealed for another purpose — is simply `nil`.
///
/// Layout before base64url: `0x01 | key id (4) | nonce (12) | ciphertext | tag (16)`; the
/// plaintext starts with a flag byte saying whether the rest is deflated (only when that is smaller).
public struct SessionSealer: Sendable {
    struct Key: Sendable {
        let id: [UInt8]
        let key: SymmetricKey
    }

    private static let version: UInt8 = 1
    private static let maxPlaintext = 64 * 1024
    private let keys: [Key]
    /// Authenticated with every purpose: values sealed for another `context` never open here.
    private let context: [UInt8]

    /// - Parameters:
    ///   - secrets: raw secret bytes, first = sealing secret. Must not be empty.
    ///   - context: whom the values are for (the gateway's issuer and client): two deployments that
    ///     share a secret still cannot open each other's sessions.
    public init(secrets: [[UInt8]], context: String = "") {
        self.context = context.isEmpty ? [] : Array(("\n" + context).utf8)
        precondition(!secrets.isEmpty, "at least one secret; the configuration validator ensures it")
        keys = secrets.map { secret in
            let key = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: secret), salt: Array("porteiro".utf8),
                info: Array("porteiro cookie sealing v1".utf8), outputByteCount: 32)
            let id = Array(HMAC<SHA256>.authenticationCode(for: Array("key id".utf8), using: key).prefix(4))
            return Key(id: id, key: key)
        }
    }

    /// Seals `plaintext` for `purpose`, which must match when opening: a sign-in state value can
    /// never be replayed as a session.
    public func seal(_ plaintext: [UInt8], purpose: String) -> String {
        let body = Self.compressedIfSmaller(plaintext)
        let sealing = keys[0]
        let header = [Self.version] + sealing.id
        // AES-GCM sealing only fails for invalid key sizes or nonces, which cannot happen here.
        let box = try! AES.GCM.seal(body, using: sealing.key, authenticating: header + Array(purpose.utf8) + context)
        return Base64.encodeToString(bytes: header + Array(box.combined!), options: [.base64UrlAlphabet, .omitPaddingCharacter])
    }

    public func open(_ text: some StringProtocol, purpose: String) -> [UInt8]? {
        guard text.utf8.count <= 2 * Self.maxPlaintext,
            let bytes = try? Base64.decode(bytes: text.utf8, options: [.base64UrlAlphabet, .omitPaddingCharacter]),
            bytes.count > 5 + 12 + 16, bytes[0] == Self.version
        else { return nil }
        let id = bytes[1..<5]
        for key in keys where key.id.elementsEqual(id) {
            guard let box = try? AES.GCM.SealedBox(combined: bytes[5...]),
                let body = try? AES.GCM.open(box, using: key.key, authenticating: Array(bytes[0..<5]) + Array(purpose.utf8) + context)
            else { return nil }
            return Self.decompressed(Array(body))
        }
        return nil
    }

    private static func compressedIfSmaller(_ plaintext: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer(bytes: plaintext)
        if plaintext.count > 256, let deflated = try? buffer.compress(with: .deflate()),
            deflated.readableBytes < plaintext.count
        {
            return [1] + deflated.readableBytesView
        }
        return [0] + plaintext
    }

    private static func decompressed(_ body: [UInt8]) -> [UInt8]? {
        switch body.first {
        case 0:
            return Array(body.dropFirst())
        case 1:
            var buffer = ByteBuffer(bytes: body.dropFirst())
            return (try? buffer.decompress(with: .deflate(), maxSize: maxPlaintext)).map { Array($0.readableBytesView) }
        default:
            return nil
        }
    }
}
