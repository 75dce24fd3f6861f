// The dataset table (datasets.h).
#include "base/datasets.h"

#include "base/check.h"  // defines: MLCN_FAIL

namespace mlcn {

const std::vector<DatasetInfo>& datasets() {
  static const std::vector<DatasetInfo> table = {
      {"fashion-mnist", {"fmnist"}, 28, 28, 1, 10, 60000, 10000, "/usr/share/datasets/fashion-mnist/",
       "apt-get install dataset-fashion-mnist, or set data.path to a folder with the four IDX files"},
      {"cifar10", {"cifar-10"}, 32, 32, 3, 10, 50000, 10000, "datasets/cifar10/",
       "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extract it and set "
       "data.path to its cifar-10-batches-bin folder"},
  };
  return table;
}

const DatasetInfo& dataset_info(const std::string& name) {
  for (const DatasetInfo& d : datasets()) {
    if (d.name == name) return d;
    for (const std::string& a : d.aliases)
      if (a == name) return d;
  }
  MLCN_FAIL("unknown dataset '" << name << "': expected " << dataset_names());
}

std::string dataset_names() {
  std::string s;
  for (size_t i = 0; i < datasets().size(); ++i)
    s += (i == 0 ? "" : i + 1 == datasets().size() ? " or " : ", ") + datasets()[i].name;
  return s;
}

}  // namespace mlcn
