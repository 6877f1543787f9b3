// Compiled only to build the precompiled header (cmake/pch.hpp).
