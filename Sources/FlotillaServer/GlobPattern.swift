/// Redis's glob patterns, for `SCAN ... MATCH`: `*` any run of bytes, `?` one byte, `[abc]`,
/// `[^abc]` and `[a-z]` classes, and `\` to take the next byte as it is.
struct GlobPattern: Sendable {
    let pattern: [UInt8]

    init(_ pattern: [UInt8]) { self.pattern = pattern }

    func matches(_ text: [UInt8]) -> Bool {
        var patternIndex = 0
        var textIndex = 0
        // Where to resume after the last `*`: its position in the pattern, and the text
        // position it has swallowed up to.
        var star: (pattern: Int, text: Int)?
        while textIndex < text.count {
            if patternIndex < pattern.count {
                let byte = pattern[patternIndex]
                if byte == UInt8(ascii: "*") {
                    star = (patternIndex, textIndex)
                    patternIndex += 1
                    continue
                }
                if let next = matchOne(at: patternIndex, text[textIndex]) {
                    patternIndex = next
                    textIndex += 1
                    continue
                }
            }
            guard let resume = star else { return false }
            star = (resume.pattern, resume.text + 1)
            patternIndex = resume.pattern + 1
            textIndex = resume.text + 1
        }
        while patternIndex < pattern.count, pattern[patternIndex] == UInt8(ascii: "*") { patternIndex += 1 }
        return patternIndex == pattern.count
    }

    /// Whether the pattern element at `index` matches `byte`: the index after the element
    /// when it does, nil when not.
    private func matchOne(at index: Int, _ byte: UInt8) -> Int? {
        switch pattern[index] {
        case UInt8(ascii: "?"):
            return index + 1
        case UInt8(ascii: "\\") where index + 1 < pattern.count:
            return pattern[index + 1] == byte ? index + 2 : nil
        case UInt8(ascii: "["):
            var cursor = index + 1
            let negated = cursor < pattern.count && pattern[cursor] == UInt8(ascii: "^")
            if negated { cursor += 1 }
            var matched = false
            while cursor < pattern.count && pattern[cursor] != UInt8(ascii: "]") {
                if pattern[cursor] == UInt8(ascii: "\\"), cursor + 1 < pattern.count {
                    if pattern[cursor + 1] == byte { matched = true }
                    cursor += 2
                } else if cursor + 2 < pattern.count, pattern[cursor + 1] == UInt8(ascii: "-") {
                    // As in Redis, the byte after `-` ends the range even when it is `]`.
                    let low = min(pattern[cursor], pattern[cursor + 2])
                    let high = max(pattern[cursor], pattern[cursor + 2])
                    if byte >= low && byte <= high { matched = true }
                    cursor += 3
                } else {
                    if pattern[cursor] == byte { matched = true }
                    cursor += 1
                }
            }
            // An unclosed class runs to the end of the pattern, as in Redis.
            let after = cursor < pattern.count ? cursor + 1 : cursor
            return matched != negated ? after : nil
        case let literal:
            return literal == byte ? index + 1 : nil
        }
    }
}
