# Finds cuDNN and NCCL wherever a machine has them: beside the CUDA toolkit, in the system, or
# only as Python wheels (nvidia-cudnn-cu13, nvidia-nccl-cu13: site-packages/nvidia/<name>/{include,lib},
# with versioned libraries such as libcudnn.so.9 and no unversioned libcudnn.so), as on the GPU
# machine's image. Sets CUDNN_INCLUDE_DIR, CUDNN_LIBRARY, NCCL_INCLUDE_DIR, NCCL_LIBRARY and
# MLCN_CUDA_LIB_DIRS (the folders of the libraries found), which go on the build RPATH so that
# test binaries run at build time (Catch2's test discovery) without LD_LIBRARY_PATH.
#
# MLCN_CUDA_LIBS_FROM=auto (default: toolkit, system, then wheels) or wheels (wheels only; the
# device check's --dry-run uses it to prove the wheel path on a machine that has both).
# MLCN_WHEEL_PYTHON: the Python whose site-packages hold the wheels (default: python3 on PATH).

set(MLCN_CUDA_LIBS_FROM "auto" CACHE STRING "Where to look for cuDNN and NCCL: auto or wheels")
set_property(CACHE MLCN_CUDA_LIBS_FROM PROPERTY STRINGS auto wheels)
find_program(MLCN_WHEEL_PYTHON NAMES python3)

# The folders of the nvidia.* wheel packages the Python sees (nvidia/cudnn, nvidia/nccl, ...).
set(MLCN_WHEEL_DIRS "")
if(MLCN_WHEEL_PYTHON)
  execute_process(
    COMMAND ${MLCN_WHEEL_PYTHON} -c
      "import importlib.util, os\nroots = []\ntry:\n    spec = importlib.util.find_spec('nvidia')\nexcept Exception:\n    spec = None\nfor r in (spec.submodule_search_locations if spec and spec.submodule_search_locations else []):\n    for name in sorted(os.listdir(r)):\n        if os.path.isdir(os.path.join(r, name)):\n            roots.append(os.path.join(r, name))\n            roots.extend(os.path.join(r, name, s) for s in sorted(os.listdir(os.path.join(r, name))) if s.startswith('cu') and os.path.isdir(os.path.join(r, name, s)))\nprint(';'.join(roots))"
    OUTPUT_VARIABLE MLCN_WHEEL_DIRS OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()

# mlcn_find_cuda_lib(PREFIX header lib soversion): PREFIX_INCLUDE_DIR and PREFIX_LIBRARY.
function(mlcn_find_cuda_lib prefix header lib soversion)
  set(names ${lib} lib${lib}.so.${soversion})
  if(MLCN_CUDA_LIBS_FROM STREQUAL "wheels")
    find_path(${prefix}_INCLUDE_DIR ${header} PATHS ${MLCN_WHEEL_DIRS} PATH_SUFFIXES include NO_DEFAULT_PATH)
    find_library(${prefix}_LIBRARY NAMES ${names} NAMES_PER_DIR PATHS ${MLCN_WHEEL_DIRS} PATH_SUFFIXES lib lib64
                 NO_DEFAULT_PATH)
  else()
    find_path(${prefix}_INCLUDE_DIR ${header} HINTS ${CUDAToolkit_INCLUDE_DIRS} PATHS ${MLCN_WHEEL_DIRS}
              PATH_SUFFIXES include)
    find_library(${prefix}_LIBRARY NAMES ${names} NAMES_PER_DIR HINTS ${CUDAToolkit_LIBRARY_DIR}
                 PATHS ${MLCN_WHEEL_DIRS} PATH_SUFFIXES lib lib64)
  endif()
  if(${prefix}_LIBRARY)
    get_filename_component(dir ${${prefix}_LIBRARY} DIRECTORY)
    set(MLCN_CUDA_LIB_DIRS ${MLCN_CUDA_LIB_DIRS} ${dir} PARENT_SCOPE)
  endif()
  message(STATUS "${prefix}: ${${prefix}_LIBRARY} (headers: ${${prefix}_INCLUDE_DIR})")
endfunction()

set(MLCN_CUDA_LIB_DIRS "")
mlcn_find_cuda_lib(CUDNN cudnn.h cudnn 9)
mlcn_find_cuda_lib(NCCL nccl.h nccl 2)
list(REMOVE_DUPLICATES MLCN_CUDA_LIB_DIRS)
list(APPEND CMAKE_BUILD_RPATH ${MLCN_CUDA_LIB_DIRS})
