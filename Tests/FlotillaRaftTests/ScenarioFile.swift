import Foundation

/// A plain-text scenario: blocks of a command line, `----`, and the expected output, separated
/// by blank lines. Lines starting with `#` before a command are comments and are kept on
/// rewrite.
struct ScenarioFile {
    struct Block {
        var comments: [String]
        var command: String
        var expected: String
        var lineNumber: Int
    }

    var blocks: [Block]

    init(parsing text: String) throws {
        blocks = []
        let lines = text.components(separatedBy: "\n")
        var position = 0
        var comments: [String] = []
        while position < lines.count {
            let line = lines[position]
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                position += 1
                continue
            }
            if line.hasPrefix("#") {
                comments.append(line)
                position += 1
                continue
            }
            let commandLine = position + 1
            let command = line
            position += 1
            guard position < lines.count, lines[position] == "----" else {
                throw ScenarioError.malformed("line \(commandLine): expected ---- after command")
            }
            position += 1
            var expected: [String] = []
            while position < lines.count, !lines[position].isEmpty {
                expected.append(lines[position])
                position += 1
            }
            blocks.append(Block(comments: comments, command: command, expected: expected.joined(separator: "\n"), lineNumber: commandLine))
            comments = []
        }
    }

    static func render(_ blocks: [Block]) -> String {
        var text = ""
        for (position, block) in blocks.enumerated() {
            if position > 0 { text += "\n" }
            for comment in block.comments { text += comment + "\n" }
            text += block.command + "\n----\n"
            if !block.expected.isEmpty { text += block.expected + "\n" }
        }
        return text
    }
}

enum ScenarioError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String {
        switch self {
        case .malformed(let detail): return detail
        }
    }
}
