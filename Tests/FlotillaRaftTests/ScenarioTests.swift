import Foundation
import XCTest

/// Runs the scenario files in `testdata/raft`, each as its own test method, so that a failure
/// names its file and one file can be run alone
/// (`swift test --filter ScenarioTests/test_raft_election_split_vote`). XCTest on Linux cannot
/// make test methods at run time, so the methods are generated, one per file, into
/// `ScenarioTests+Files.swift` by `tools/scenario-tests`: run it after adding, renaming or
/// deleting a scenario file. `testEveryScenarioFileHasItsOwnTestMethod` fails until you do, so
/// that a new file cannot be silently left out.
///
/// - `FLOTILLA_REWRITE=1` rewrites the expected output of the files that run from their actual
///   output (then review the diff against the Raft paper before committing).
/// - To run some files, filter by method name: `swift test --filter 'ScenarioTests/test_raft_read_index'`.
final class ScenarioTests: XCTestCase {
    static var testsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }

    static var scenarioDirectory: URL {
        testsDirectory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("testdata/raft")
    }

    static var generatedMethodsFile: URL {
        testsDirectory.appendingPathComponent("ScenarioTests+Files.swift")
    }

    /// Runs one scenario file block by block and stops at the first block whose output differs,
    /// since later blocks depend on the state the earlier ones left.
    func runScenario(_ name: String) throws {
        let environment = ProcessInfo.processInfo.environment
        let rewrite = environment["FLOTILLA_REWRITE"] == "1"
        let url = Self.scenarioDirectory.appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        var scenario = try ScenarioFile(parsing: text)
        XCTAssertFalse(scenario.blocks.isEmpty, "\(name): no commands, so it would show nothing")
        let cluster = ScenarioCluster()
        for position in scenario.blocks.indices {
            let block = scenario.blocks[position]
            let actual: String
            do {
                actual = try cluster.run(block.command)
            } catch {
                XCTFail("\(name):\(block.lineNumber): \(block.command): \(error)")
                break
            }
            if rewrite {
                scenario.blocks[position].expected = actual
            } else if actual != block.expected {
                XCTFail("\(name):\(block.lineNumber): \(block.command)\n--- expected\n\(block.expected)\n--- actual\n\(actual)")
                break
            }
        }
        if rewrite {
            try ScenarioFile.render(scenario.blocks).write(to: url, atomically: true, encoding: .utf8)
        }
    }

    /// The generated methods must match the directory one to one: a file without a method would
    /// never run, and a method without a file would fail for the wrong reason.
    func testEveryScenarioFileHasItsOwnTestMethod() throws {
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.scenarioDirectory.path) where name.hasSuffix(".txt") {
            files[name] = try String(contentsOf: Self.scenarioDirectory.appendingPathComponent(name), encoding: .utf8)
        }
        XCTAssertFalse(files.isEmpty, "no scenario files in \(Self.scenarioDirectory.path)")
        let source = try String(contentsOf: Self.generatedMethodsFile, encoding: .utf8)
        let problems = ScenarioCatalog.problems(files: files, generatedSource: source)
        XCTAssertEqual(problems, [], "\n" + problems.joined(separator: "\n") + "\nRegenerate the methods with tools/scenario-tests.")
    }

    /// The check above passes on a consistent tree; this shows that it does report each kind of
    /// mismatch, so that its passing means something.
    func testCatalogReportsEveryMismatch() {
        let header = "# Raft paper 5.2: something.\ncampaign 1\n----\nok\n"
        let files = [
            "raft-covered.txt": header,
            "raft-without-method.txt": header,
            "raft-without-header.txt": "campaign 1\n----\nok\n",
            "raft-without-section.txt": "# Something, with no section named.\ncampaign 1\n----\nok\n",
            "sc-wrong-prefix.txt": header,
        ]
        let source = """
            extension ScenarioTests {
                func test_raft_covered() throws {
                    try runScenario("raft-covered.txt")
                }
                func test_raft_without_header() throws {
                    try runScenario("raft-without-header.txt")
                }
                func test_raft_without_section() throws {
                    try runScenario("raft-without-section.txt")
                }
                func test_sc_wrong_prefix() throws {
                    try runScenario("sc-wrong-prefix.txt")
                }
                func test_raft_deleted() throws {
                    try runScenario("raft-deleted.txt")
                }
                func test_raft_misnamed() throws {
                    try runScenario("raft-covered.txt")
                }
                func test_raft_runs_nothing() throws {
                }
            }
            """
        XCTAssertEqual(ScenarioCatalog.problems(files: files, generatedSource: source), [
            "raft-covered.txt is run by 2 methods: test_raft_covered, test_raft_misnamed",
            "raft-without-header.txt: no header comment (what it shows, which section of the Raft paper or thesis)",
            "raft-without-method.txt has no test method",
            "raft-without-section.txt: its header names no section of the Raft paper or thesis",
            "sc-wrong-prefix.txt: a scenario file is named raft-<behaviour>.txt (lowercase, digits, hyphens)",
            "test_raft_deleted runs raft-deleted.txt, which does not exist",
            "test_raft_misnamed runs raft-covered.txt, so it should be named test_raft_covered",
            "test_raft_runs_nothing runs no scenario file",
        ])
    }
}
