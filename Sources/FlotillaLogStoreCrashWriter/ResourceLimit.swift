#if canImport(Glibc)
import Glibc

/// Glibc imports `RLIMIT_FSIZE` as an enum case; `getrlimit` wants its raw value.
let fileSizeResource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
#endif
