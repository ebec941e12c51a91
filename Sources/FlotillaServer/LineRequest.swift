/// A line-protocol request as its connection carries it out: the engine request, and whether
/// the connection had asked for leader hints (`HINTS ON`) when the line was read, so that a
/// pipelined `HINTS ON` applies from the next line on, never to the lines before it.
struct LineRequest: Sendable {
    var request: ClientRequest
    var hinted: Bool
}
