import Foundation

/// The rules that tie the scenario files to their generated test methods, kept apart from
/// XCTest so that a test can feed them a broken tree and see each rule fire.
enum ScenarioCatalog {
    struct Method: Equatable {
        var name: String
        /// The file it runs, or nil when its body runs none.
        var file: String?
    }

    /// The test method `tools/scenario-tests` generates for a file:
    /// `raft-election-split-vote.txt` runs in `test_raft_election_split_vote`.
    static func methodName(for file: String) -> String {
        "test_" + file.dropLast(".txt".count).replacingOccurrences(of: "-", with: "_")
    }

    /// The test methods in the generated source, each with the file its body passes to
    /// `runScenario`. Read from the source because XCTest on Linux cannot list a class's
    /// methods at run time.
    static func methods(inGeneratedSource source: String) -> [Method] {
        var methods: [Method] = []
        for line in source.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("func test"), let open = text.firstIndex(of: "(") {
                methods.append(Method(name: String(text[text.index(text.startIndex, offsetBy: "func ".count)..<open])))
            } else if let call = text.range(of: "runScenario(\""), !methods.isEmpty, methods[methods.count - 1].file == nil,
                      let close = text[call.upperBound...].firstIndex(of: "\"") {
                methods[methods.count - 1].file = String(text[call.upperBound..<close])
            }
        }
        return methods
    }

    /// Everything wrong with the scenario files (name to text) and the generated source, one
    /// line each, sorted; empty when they agree.
    static func problems(files: [String: String], generatedSource: String) -> [String] {
        var problems: [String] = []
        for (name, text) in files {
            if !isScenarioFileName(name) {
                problems.append("\(name): a scenario file is named raft-<behaviour>.txt (lowercase, digits, hyphens)")
            }
            let header = text.split(separator: "\n", omittingEmptySubsequences: false).prefix { $0.hasPrefix("#") }
            if header.isEmpty {
                problems.append("\(name): no header comment (what it shows, which section of the Raft paper or thesis)")
            } else if !header.contains(where: { $0.lowercased().contains("paper") || $0.lowercased().contains("thesis") }) {
                problems.append("\(name): its header names no section of the Raft paper or thesis")
            }
        }
        let methods = methods(inGeneratedSource: generatedSource)
        var methodsByFile: [String: [String]] = [:]
        for method in methods {
            guard let file = method.file else {
                problems.append("\(method.name) runs no scenario file")
                continue
            }
            methodsByFile[file, default: []].append(method.name)
            if files[file] == nil {
                problems.append("\(method.name) runs \(file), which does not exist")
            } else if method.name != methodName(for: file) {
                problems.append("\(method.name) runs \(file), so it should be named \(methodName(for: file))")
            }
        }
        for name in files.keys {
            switch methodsByFile[name]?.count ?? 0 {
            case 0: problems.append("\(name) has no test method")
            case 1: break
            case let count: problems.append("\(name) is run by \(count) methods: \(methodsByFile[name]!.joined(separator: ", "))")
            }
        }
        return problems.sorted()
    }

    /// `raft-` then lowercase words of letters and digits joined by hyphens, then `.txt`: the
    /// names the generator can turn into Swift identifiers.
    static func isScenarioFileName(_ name: String) -> Bool {
        guard name.hasPrefix("raft-"), name.hasSuffix(".txt") else { return false }
        let words = name.dropFirst("raft-".count).dropLast(".txt".count).split(separator: "-", omittingEmptySubsequences: false)
        return words.allSatisfy { word in
            !word.isEmpty && word.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        }
    }
}
