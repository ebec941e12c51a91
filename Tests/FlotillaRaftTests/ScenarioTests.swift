import Foundation
import XCTest

/// Runs every scenario file in `testdata/raft`. Set `FLOTILLA_REWRITE=1` to rewrite the
/// expected output from the actual output (then review the diff before committing).
final class ScenarioTests: XCTestCase {
    static var scenarioDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("testdata/raft")
    }

    func testScenarioFiles() throws {
        let rewrite = ProcessInfo.processInfo.environment["FLOTILLA_REWRITE"] == "1"
        let only = ProcessInfo.processInfo.environment["FLOTILLA_SCENARIO"]
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.scenarioDirectory.path)
            .filter { $0.hasSuffix(".txt") }
            .filter { only == nil || $0.contains(only!) }
            .sorted()
        XCTAssertGreaterThanOrEqual(files.count, only == nil ? 30 : 1, "scenario files missing")
        for name in files {
            let url = Self.scenarioDirectory.appendingPathComponent(name)
            let text = try String(contentsOf: url, encoding: .utf8)
            var scenario = try ScenarioFile(parsing: text)
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
    }
}
