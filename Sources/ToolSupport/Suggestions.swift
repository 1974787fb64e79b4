/// The one rule the three tools use to suggest what a mistyped word meant ("did you mean
/// '--verbose'?"), as git does: the candidates nearest by edit distance (insertions, deletions,
/// substitutions and swaps of two neighbouring characters each count 1), if near enough that the
/// word is plausibly a slip rather than another word altogether.
package enum Suggestions {
    /// The candidates closest to `word` (several on a tie, in the order given), or none when even
    /// the closest is too far: at most 2 edits, or 3 for words of 8 characters and more. Leading
    /// dashes and slashes are not counted: `--verbse` is one edit from `--verbose`.
    package static func closest(to word: String, among candidates: [String]) -> [String] {
        let stem = Array(word.drop(while: { $0 == "-" || $0 == "/" }).lowercased())
        guard !stem.isEmpty else { return [] }
        let limit = stem.count >= 8 ? 3 : 2
        var best: [String] = []
        var bestDistance = limit + 1
        for candidate in candidates where candidate != word && !best.contains(candidate) {
            let distance = editDistance(stem, Array(candidate.drop(while: { $0 == "-" || $0 == "/" }).lowercased()))
            // A one-letter word is one edit from every other one-letter word: not a suggestion.
            guard distance < stem.count else { continue }
            if distance < bestDistance {
                bestDistance = distance
                best = [candidate]
            } else if distance == bestDistance {
                best.append(candidate)
            }
        }
        return best
    }

    /// `; did you mean 'X'?` (or `'X' or 'Y'`) for the message about `word`, or "" when nothing is
    /// close enough.
    package static func clause(for word: String, among candidates: [String]) -> String {
        let found = closest(to: word, among: candidates)
        guard !found.isEmpty else { return "" }
        return "; did you mean " + found.map { "'\($0)'" }.joined(separator: " or ") + "?"
    }

    /// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one
    /// substring).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousRow = [Int](repeating: 0, count: b.count + 1)
        var row = Array(0...b.count)
        var nextRow = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            nextRow[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(row[j] + 1, nextRow[j - 1] + 1, row[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previousRow[j - 2] + 1)
                }
                nextRow[j] = value
            }
            previousRow = row
            row = nextRow
        }
        return row[b.count]
    }
}
