# Included into llama.cpp's CMake project while pip builds llama-cpp-python.
# The wheel ships only libllama/libggml; llama.cpp's `common` library is more than half of
# the compile time and is not needed, so it is switched off here.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "" FORCE)
