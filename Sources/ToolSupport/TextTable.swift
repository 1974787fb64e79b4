/// Aligned columns for text output (`keytool diff`, `miisserver status`, `secret list`).
package enum TextTable {
    /// The rows as lines, each cell escaped (``TerminalText/escaped(_:)``) before it is measured,
    /// so that a hostile cell cannot skew the columns; no line ends in spaces (the last column is
    /// not padded, and empty trailing cells leave none).
    package static func lines(_ rows: [[String]], indent: String = "", gap: String = "  ") -> [String] {
        let rows = rows.map { $0.map(TerminalText.escaped) }
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            var line = indent + row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : pad(cell, widths[index])
            }.joined(separator: gap)
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    /// `text` followed by spaces up to `width` characters (the unit ``lines(_:indent:gap:)``
    /// measures cells in); a longer text is left whole.
    package static func pad(_ text: String, _ width: Int) -> String {
        let count = text.count
        return count >= width ? text : text + String(repeating: " ", count: width - count)
    }
}
