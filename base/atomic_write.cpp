// write_file_atomic (atomic_write.h): temp file in the same directory, fsync,
// rename over the target, fsync the directory; a failure leaves the old file intact.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/check.h"
#include "base/atomic_write.h"

namespace mlcn {

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    MLCN_FAIL(path << ": cannot write: creating the temp file " << tmp
                   << " failed: " << std::strerror(errno));
  }
  // From here on a failure removes the temp file; `path` is only touched by rename().
  auto fail = [&](const char* step, int err) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    MLCN_FAIL(path << ": cannot write: " << step << " " << tmp << " failed: " << std::strerror(err)
                   << " (the old file, if any, is intact)");
  };
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t got = ::write(fd, p, left);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail("writing", got < 0 ? errno : EIO);
    p += got;
    left -= static_cast<size_t>(got);
  }
  if (::fsync(fd) != 0) fail("syncing", errno);
  int closed = ::close(fd);
  fd = -1;
  if (closed != 0) fail("closing", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming", errno);

  // Make the rename itself durable. Some filesystems cannot sync directories (EINVAL).
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    int rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (rc != 0 && err != EINVAL) {
      MLCN_FAIL(path << ": written, but syncing its directory " << dir
                     << " failed: " << std::strerror(err));
    }
  }
}

}  // namespace mlcn
