/// The encrypted payload's plaintext: `count (u16)` then, per key in index order,
/// `id (u32) | materialLength (u16) | material | checkValue (8)`. Built and parsed inside
/// ``SecureBytes`` so key material never sits in an unwiped buffer; the keys of an opened file
/// are slices of the decrypted payload's buffer.
enum KeyFilePayload {
    static func encode(_ keySet: KeySet) throws -> SecureBytes {
        let size = SealedKeyFile.payloadPlaintextSize(keyCount: keySet.keys.count)
        return SecureBytes(count: size) { out in
            var offset = 0
            func put(_ byte: UInt8) { out[offset] = byte; offset += 1 }
            func put(_ value: UInt32, width: Int) {
                for shift in stride(from: (width - 1) * 8, through: 0, by: -8) { put(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
            }
            put(UInt32(keySet.keys.count), width: 2)
            for key in keySet.keys {
                put(key.id.rawValue, width: 4)
                put(UInt32(key.material.count), width: 2)
                key.material.withUnsafeBytes { material in
                    for byte in material { put(byte) }
                }
                for byte in key.checkValue { put(byte) }
            }
        }
    }

    /// Parses a decrypted payload and cross-checks it with the authenticated header. Any
    /// disagreement means the file was modified on purpose after it was written: `tampered`.
    /// (The payload's length was fixed by payloadLength before decryption, so the final
    /// trailing-bytes guard cannot fail on a file that reached this point; it stays as a guard.)
    static func decode(_ plaintext: SecureBytes, header: KeyFileHeader) throws -> KeySet {
        try plaintext.withUnsafeBytes { buffer in
            var offset = 0
            func take(_ count: Int) throws -> UnsafeRawBufferPointer {
                guard count <= buffer.count - offset else { throw KeyFileError.tampered("the decrypted payload is shorter than its header says") }
                defer { offset += count }
                return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
            }
            func integer(_ width: Int) throws -> UInt32 { try take(width).reduce(0) { ($0 << 8) | UInt32($1) } }

            guard try integer(2) == header.keys.count else { throw KeyFileError.tampered("the payload's key count differs from the header's") }
            var keys: [Key] = []
            keys.reserveCapacity(header.keys.count)
            let mac = try HMACSHA256.Reusable()
            for descriptor in header.keys {
                guard try integer(4) == descriptor.id.rawValue else { throw KeyFileError.tampered("the payload's key IDs differ from the header's") }
                let length = Int(try integer(2))
                guard length == descriptor.algorithm.keySize else { throw KeyFileError.tampered("key \(descriptor.id) has material of the wrong size") }
                // The material stays where it was decrypted: a slice of the payload's one locked
                // buffer (no allocation, mlock or copy per key).
                let materialStart = offset
                _ = try take(length)
                let key = try Key(descriptor: descriptor, material: SecureBytes(slice: materialStart..<offset, of: plaintext), mac: mac)
                let storedCheckValue = try take(Key.checkValueSize)
                guard key.checkValue.withUnsafeBytes({ ConstantTime.equals(storedCheckValue, $0) }) else {
                    throw KeyFileError.tampered("the check value of key \(descriptor.id) does not match its material")
                }
                keys.append(key)
            }
            guard offset == buffer.count else { throw KeyFileError.tampered("the decrypted payload has trailing bytes") }
            return try KeySet(id: header.keySetID, keys: keys, generation: header.generation)
        }
    }
}
