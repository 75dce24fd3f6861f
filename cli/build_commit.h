// The commit the `mlcn` binary was built from (generated at build time by cmake/GitCommit.cmake).
#pragma once

namespace mlcn::cli {

// Short commit id, with "-dirty" when tracked files had uncommitted changes; "unknown" outside git.
const char* build_commit();

}  // namespace mlcn::cli
