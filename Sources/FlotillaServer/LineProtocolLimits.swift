/// The limits of SPEC "The line protocol".
public enum LineProtocolLimits {
    public static let keyBytesMax = 1024
    public static let valueBytesMax = 1 << 20
    /// A request line longer than this (not counting the line end) is `TOO_LARGE`.
    public static let lineBytesMax = (1 << 20) + 2048
}
