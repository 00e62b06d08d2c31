import CompressNIO
import Foundation
import NIOCore
import NIOFoundationCompat

/// Writes NDJSON to a file or standard output, gzip-compressed when the path ends in `.gz`.
public final class NDJSONWriter {
    private let handle: FileHandle
    private let compressor: (any NIOCompressor)?
    private let closesHandle: Bool

    /// - Parameter path: a file path, or `-` for standard output.
    public init(path: String) throws {
        if path == "-" {
            handle = FileHandle.standardOutput
            closesHandle = false
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw NDJSONFileError("cannot create \(path)")
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            closesHandle = true
        }
        if path.hasSuffix(".gz") {
            let compressor = CompressionAlgorithm.gzip().compressor
            compressor.window = ByteBufferAllocator().buffer(capacity: 256 * 1024)
            try compressor.startStream()
            self.compressor = compressor
        } else {
            compressor = nil
        }
    }

    /// Appends bytes that already hold whole lines.
    public func write(_ lines: ByteBuffer) throws {
        var lines = lines
        guard let compressor else {
            try handle.write(contentsOf: lines.readableBytesView)
            return
        }
        try lines.compressStream(with: compressor, flush: .no) { window in
            try handle.write(contentsOf: window.readableBytesView)
        }
    }

    public func close() throws {
        if let compressor {
            var empty = ByteBuffer()
            try empty.compressStream(with: compressor, flush: .finish) { window in
                try handle.write(contentsOf: window.readableBytesView)
            }
            try compressor.finishStream()
        }
        if closesHandle { try handle.close() }
    }
}

public struct NDJSONFileError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Reads an NDJSON file, plain or gzip (recognised by its magic bytes), into its non-blank lines.
public enum NDJSONReader {
    public static func lines(ofFile path: String) throws -> [ByteBuffer] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NDJSONFileError("cannot read \(path)")
        }
        var buffer = ByteBuffer(bytes: data)
        if data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B {
            do {
                buffer = try buffer.decompress(with: .gzip())
            } catch {
                throw NDJSONFileError("\(path) is not valid gzip: \(error)")
            }
        }
        var lines: [ByteBuffer] = []
        let view = buffer.readableBytesView
        var start = view.startIndex
        while start < view.endIndex {
            let end = view[start...].firstIndex(of: UInt8(ascii: "\n")) ?? view.endIndex
            let slice = view[start..<end]
            if slice.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) {
                lines.append(buffer.getSlice(at: start - view.startIndex + buffer.readerIndex, length: end - start)!)
            }
            start = end + 1
        }
        return lines
    }
}
