#include "common/flags.h"

namespace cloudlet {

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;  // everything after is positional
    if (!arg.starts_with("-")) continue;
    size_t dashes = arg.starts_with("--") ? 2 : 1;
    size_t name_end = arg.find('=');
    if (name_end == std::string::npos) name_end = arg.size();
    for (size_t j = dashes; j < name_end; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
  }
  return args;
}

std::vector<char*> ArgvPointers(std::vector<std::string>& args) {
  std::vector<char*> pointers;
  pointers.reserve(args.size() + 1);
  for (std::string& arg : args) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace cloudlet
